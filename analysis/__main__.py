"""`python -m analysis.report` entry point."""

import sys

from analysis.report import main

sys.exit(main())

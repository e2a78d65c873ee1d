"""Session-wide test set-up.

submitit runs `logging.config.dictConfig` when it is first imported. dictConfig closes every existing handler,
and absl's handler (installed when dm_control logs) closes its stream unless that stream *is* the current
sys.stderr. Under pytest's capture (and inside a capsys test) it is pytest's own capture file, whose closing
broke the rest of the session. Importing submitit here, before any test has made an absl handler, avoids it.
"""

import submitit  # noqa: F401

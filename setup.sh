#!/usr/bin/env bash
# One-command set-up of WMIL-Bench on a fresh Debian/Ubuntu machine with Python 3.11.
#   bash setup.sh            # creates .venv and installs everything (idempotent: a no-op when up to date)
# Environment knobs:
#   PYTHON=python3.11        interpreter used to create .venv
#   WMIL_SKIP_APT=1          never call apt-get (headless GL libraries must then already be present)
#   WMIL_TORCH="torch==2.13.0"  torch requirement; on a CUDA cluster the same default pulls the CUDA wheel
#                            from PyPI, on this project's CPU machines pip takes the local CPU build.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${WMIL_TORCH:-torch==2.13.0}
VENV=.venv
STAMP=.setup-stamp

want=$(cat requirements/*.txt setup.sh | sha256sum | cut -d' ' -f1)-$TORCH_SPEC
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  echo "[setup] up to date ($VENV)"; exit 0
fi

# 1. System libraries for headless MuJoCo rendering (EGL/OSMesa) and for importing sapien (libvulkan).
APT_PKGS="libosmesa6 libegl1 libgl1 libglfw3 libvulkan1"
missing=$(for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | xargs || true)
if [ -n "$missing" ]; then
  if [ "${WMIL_SKIP_APT:-0}" = 1 ]; then
    echo "[setup] WARNING: missing Debian packages ($missing); WMIL_SKIP_APT=1 so not installing." >&2
  elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] apt-get install $missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "[setup] WARNING: cannot install Debian packages ($missing) without root." >&2
    echo "        Pixel observations (EGL/OSMesa) and ManiSkill2 (libvulkan) will be unavailable;" >&2
    echo "        ask an administrator for: apt-get install $missing" >&2
  fi
fi

# 2. Python environment. torch first, pinned, so nothing later can pull another build.
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install "$TORCH_SPEC"
# 3. Pinned stack that resolves together (numpy 1.26 for sapien 2, mujoco 3.17 for dm-control/myosuite).
$PIP install -r requirements/core.txt -r requirements/suite-extras.txt "$TORCH_SPEC"
# 4. Suites whose published pins conflict with the stack above: installed without their pins;
#    envs/metaworld.py and envs/maniskill2.py apply the run-time fixes they need.
$PIP install --no-deps -r requirements/nodeps.txt
"$VENV/bin/python" -c "import torch, numpy, mujoco; print('[setup] torch', torch.__version__, '| numpy', numpy.__version__, '| mujoco', mujoco.__version__)"
# 5. Make the repository's top-level packages (envs, methods, experts, runner, analysis) importable from
#    anywhere with this venv's python, like an editable install.
"$VENV/bin/python" -c "import site, sys; open(site.getsitepackages()[0] + '/wmil_bench.pth', 'w').write(sys.argv[1] + '\\n')" "$PWD"
echo "$want" > "$STAMP"
echo "[setup] done: use $VENV/bin/python"

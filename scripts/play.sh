#!/usr/bin/env bash
# One command from a fresh machine to sound: installs what DrumGAN Live needs, then plays it.
#   bash scripts/play.sh                 set up, then 'drumgan live' (renders a demo to out/demo.wav
#                                        when the machine has no audio device)
#   bash scripts/play.sh --midi-in virtual --osc-host 0.0.0.0    any 'drumgan live' options pass through
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
python3 -m pip install -q --upgrade pip
# Bring your own torch (e.g. a CUDA build) and it is kept; otherwise the CPU wheel.
python3 -c "import torch" 2>/dev/null || python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e .
exec drumgan live "$@"

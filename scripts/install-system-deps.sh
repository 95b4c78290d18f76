#!/usr/bin/env bash
# System packages DrumGAN Live needs (Debian/Ubuntu). Run as root (or with sudo).
#   scripts/install-system-deps.sh          runtime + test packages (PortAudio, libsndfile, JACK, liblo-tools, espeak-ng)
#   scripts/install-system-deps.sh --data   also the drum kits used for training (hydrogen-drumkits, hydrogen-data, fluid-soundfont-gm)
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
pkgs=(libportaudio2 libsndfile1 jackd2 liblo-tools espeak-ng gcc python3-dev)  # gcc: the C real-time core
# the real consumers the kit-export and control-surface tests load their files in, and test samples
pkgs+=(hydrogen puredata lmms-common)
# a real browser for the web page tests (Selenium drives it headless)
pkgs+=(chromium chromium-driver)
if [ "${1:-}" = "--data" ]; then
  pkgs+=(hydrogen-drumkits hydrogen-data fluid-soundfont-gm)
fi
export DEBIAN_FRONTEND=noninteractive
# jackd2 asks whether to enable realtime priority; answer once, non-interactively.
echo "jackd2 jackd/tweak_rt_limits boolean false" | $SUDO debconf-set-selections || true
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${pkgs[@]}"

#!/usr/bin/env bash
# CI: the package as a user gets it. Build the wheel (not editable), check what it carries,
# install it into a fresh venv and play from a directory that is not the clone:
#   drumgan generate, drumgan render, drumgan live --audio-device null --duration 2
# The venv sees the system's packages (torch is a multi-GB download; the CPU wheel is installed
# system-wide), but drumgan itself must come from the wheel: checked below.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d /tmp/drumgan-wheel.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" . >/dev/null
wheel=$(ls "$work"/dist/drumgan_live-*.whl)
echo "wheel: $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"
# Contents: the shipped data, every data file of the package's own folders, no training checkpoint.
python3 - "$wheel" <<'PY'
import subprocess, sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = [f"liveinstrument/shipped/models/{f}" for f in (
    "generator.safetensors", "generator.json", "encoder.safetensors", "encoder.json",
    "classifier.safetensors", "classifier.json", "eval_classifier.safetensors", "eval_classifier.json")]
need += ["liveinstrument/shipped/mappings/gm-default.yaml", "liveinstrument/shipped/kits/gm-default/kit.yaml"]
tracked = subprocess.run(["git", "ls-files", "liveinstrument", "mappings"], capture_output=True, text=True).stdout.split()
need += [f if f.startswith("liveinstrument/") else "liveinstrument/shipped/" + f
         for f in tracked if not f.endswith((".c", ".h", ".pyx")) and "/tests/" not in f]
missing = [n for n in need if n not in names]
extra = [n for n in names if "gan_resume" in n or n.endswith(".csv")]
if missing or extra:
    sys.exit(f"wheel contents wrong: missing {missing}, should not ship {extra}")
print(f"wheel contents ok: {len(names)} files, shipped data present, no training checkpoint")
PY
python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel"
mkdir -p "$work/elsewhere"
cd "$work/elsewhere"
export DRUMGAN_HOME="$work/home"
where=$("$work/venv/bin/python" -c "import liveinstrument; print(liveinstrument.__file__)")
case "$where" in "$work/venv/"*) ;; *) echo "drumgan imported from $where, not from the wheel"; exit 1;; esac
drumgan="$work/venv/bin/drumgan"
"$drumgan" generate --class snare --count 2 --out generated
test -s generated/snare_0_000.wav
"$work/venv/bin/python" -c "from liveinstrument.engine.demo import demo_midi; demo_midi('groove.mid', bars=1)"
"$drumgan" render groove.mid --out groove.wav
test -s groove.wav
"$drumgan" live --audio-device null --duration 2 | tee live.log
grep -q '"xruns"' live.log
cd "$repo"
echo "wheel check passed: generate, render and live ran from $work/elsewhere"

"""Structural rules of the design card that a refactor could silently break."""
import subprocess
import sys


def test_live_audio_process_does_not_import_torch():
    """The audio process (engine, control, capture) must not load torch: only the renderer
    process does. Checked in a fresh interpreter so other tests' imports do not leak in."""
    code = ("import sys; import liveinstrument.engine.instrument, liveinstrument.engine.audio_out, "
            "liveinstrument.engine.mixer, liveinstrument.control; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_model_files_are_safetensors_only():
    """Shipped weights load without pickle: no .pt/.pth/.pkl/.ckpt files in models/."""
    from pathlib import Path
    models = Path(__file__).resolve().parent.parent / "models"
    bad = [p.name for p in models.rglob("*") if p.suffix in {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin"}]
    assert not bad
    assert (models / "classifier.safetensors").exists()

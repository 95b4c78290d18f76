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


# Attribute stores the rule allows, each with its reason: (file under liveinstrument/, target base).
FOREIGN_STORE_OK = {
    ("control/osc_guard.py", "record"),   # a logging.Filter may rewrite the record it is handed
    ("engine/cli.py", "args"),            # argparse's Namespace: the CLI's own record of its options
}


def _foreign_attribute_stores(path, rel):
    """``self.a.b = ...`` (an attribute of an object self only holds) and ``param.b = ...`` (an
    attribute of an object a function was handed), plus ``setattr`` on either."""
    import ast
    tree = ast.parse(path.read_text(), str(path))
    found = []

    def foreign(node, params):
        if isinstance(node, ast.Attribute):
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            return isinstance(root, ast.Name) and root.id == "self"
        return isinstance(node, ast.Name) and node.id in params and (rel, node.id) not in FOREIGN_STORE_OK

    def visit(node, params):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            params = {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)} - {"self", "cls"}
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) and foreign(sub.value, params):
                    found.append(f"{rel}:{sub.lineno}: {ast.unparse(sub)} = ...")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" \
                and node.args and foreign(node.args[0], params):
            found.append(f"{rel}:{node.lineno}: setattr({ast.unparse(node.args[0])}, ...)")
        for child in ast.iter_child_nodes(node):
            visit(child, params)

    visit(tree, set())
    return found


def test_no_module_sets_another_objects_attributes():
    """One owner per piece of state: code changes its own attributes and asks other objects
    (their methods) for the rest; it never assigns into an object it holds or was handed."""
    from pathlib import Path
    pkg = Path(__file__).resolve().parent.parent / "liveinstrument"
    bad = [hit for f in sorted(pkg.rglob("*.py")) for hit in _foreign_attribute_stores(f, f.relative_to(pkg).as_posix())]
    assert not bad, "attributes set on another object (add a method to its owner):\n" + "\n".join(bad)


def test_the_foreign_store_check_sees_both_forms(tmp_path):
    """The check above can fail: it finds a store through self and one into a parameter."""
    src = tmp_path / "m.py"
    src.write_text("class A:\n    def f(self, other):\n        self.inst.armed = 1\n        other.x = 2\n"
                   "        setattr(other, 'y', 3)\n        self.ok = other\n        local = object()\n")
    assert [h.split(": ")[1] for h in _foreign_attribute_stores(src, "m.py")] == [
        "self.inst.armed = ...", "other.x = ...", "setattr(other, ...)"]


def test_train_does_not_import_eval():
    """Imports point down: training code never loads the evaluation package, not even through
    what it imports (a fresh interpreter; the source itself is checked by test_imports_point_down)."""
    code = ("import sys; import liveinstrument.train.gan, liveinstrument.train.encoder, "
            "liveinstrument.train.classifier, liveinstrument.train.losses, liveinstrument.train.cli; "
            "print(sorted(m for m in sys.modules if m.startswith('liveinstrument.eval')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# Imports point down. Package -> the packages it may not import (anywhere in the file, lazy
# imports included), and the files that compose the application on purpose.
IMPORTS_FORBIDDEN = {
    "engine": {"control", "web", "capture", "train", "eval", "data"},
    "capture": {"control", "web", "engine", "train", "eval"},
    "control": {"web", "capture", "train", "eval"},
    "train": {"eval", "engine", "control", "web", "capture"},
    "nets": {"engine", "control", "web", "capture", "train", "eval"},
}
IMPORT_OK = {
    "engine/cli.py",     # `drumgan live` / `drumgan render`: the composition root wires every surface
}


def _imported_packages(path, rel):
    """Top-level ``liveinstrument`` subpackages a file imports (absolute and relative)."""
    import ast
    parts = rel.split("/")
    out = set()
    for n in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(n, ast.ImportFrom) and n.level:
            base = parts[:len(parts) - n.level]
            names = [".".join(base + [n.module])] if n.module else [".".join(base + [a.name]) for a in n.names]
        elif isinstance(n, ast.ImportFrom) and (n.module or "").startswith("liveinstrument."):
            names = [n.module.split(".", 1)[1]]
        elif isinstance(n, ast.Import):
            names = [a.name.split(".", 1)[1] for a in n.names if a.name.startswith("liveinstrument.")]
        out |= {m.split(".")[0] for m in names if m}
    return out


def test_imports_point_down():
    """engine does not import control/web/capture, train does not import eval, and so on
    (``IMPORTS_FORBIDDEN``); only the composition root may wire them together."""
    from pathlib import Path
    pkg = Path(__file__).resolve().parent.parent / "liveinstrument"
    bad = []
    for f in sorted(pkg.rglob("*.py")):
        rel = f.relative_to(pkg).as_posix()
        top = rel.split("/")[0]
        if "/" not in rel or rel in IMPORT_OK:
            continue
        for dep in sorted(_imported_packages(f, rel) & IMPORTS_FORBIDDEN.get(top, set())):
            bad.append(f"{rel} imports liveinstrument.{dep}")
    assert not bad, "imports that point up or sideways:\n" + "\n".join(bad)


def test_the_import_check_sees_relative_absolute_and_lazy_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from ..control.mapping import Target\nimport liveinstrument.web.server\n"
                   "from . import dsp\ndef f():\n    from .. import capture\n")
    assert _imported_packages(src, "engine/m.py") == {"control", "web", "engine", "capture"}

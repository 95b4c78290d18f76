"""Saving and loading networks as safetensors + JSON config (no pickle anywhere)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def save_model(module: torch.nn.Module, path: str | Path, config: dict,
               dtype: torch.dtype | None = torch.float16, extra: dict | None = None) -> None:
    """Write ``path`` (.safetensors) and ``path`` with .json (config + metadata).

    Float tensors are stored as ``dtype`` (fp16 keeps shipped weights small).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    state = {}
    for k, v in module.state_dict().items():
        v = v.detach().cpu().contiguous()
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        state[k] = v
    save_file(state, str(p))
    meta = {"config": config, **(extra or {})}
    p.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def load_config(path: str | Path) -> dict:
    p = Path(path).with_suffix(".json")
    if not p.exists():
        raise FileNotFoundError(f"{p}: model config missing (expected next to {Path(path).name})")
    return json.loads(p.read_text())


def load_weights(module: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    """Load safetensors weights into ``module`` (cast to the module's dtype)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: model weights missing; run the matching 'drumgan train' "
                                f"command or restore models/ from git")
    state = load_file(str(p))
    own = module.state_dict()
    state = {k: v.to(own[k].dtype) if k in own else v for k, v in state.items()}
    module.load_state_dict(state)
    return module


def file_hash(path: str | Path) -> str:
    """Short SHA-256 of a file: identifies the exact weights a kit was rendered with."""
    h = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return h[:16]

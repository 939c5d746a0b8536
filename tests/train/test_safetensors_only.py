"""Safetensors only: a diffusers folder's `.bin` pickles are never read, not even by torch's
`weights_only` loader, and a base model that is not safetensors is refused from its header."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest


class _Payload:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "unpickled!"))


def _pickle_only(model: Path, part: str, tmp_path: Path, *, real: bool) -> Path:
    """`model/part` with its safetensors replaced by a `.bin`: the same weights saved with
    torch.save (`real`), or a payload that runs code when unpickled."""
    import torch
    from safetensors.torch import load_file

    folder = model / part
    weights = next(folder.glob("*.safetensors"))
    stem = "diffusion_pytorch_model" if part != "text_encoder" else "pytorch_model"
    target = folder / f"{stem}.bin"
    if real:
        torch.save(load_file(str(weights)), target)
    else:
        target.write_bytes(pickle.dumps(_Payload(tmp_path / "marker")))
    weights.unlink()
    return target


@pytest.fixture
def model_copy(tiny_model, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_model, tmp_path / "model"))


def test_folder_loader_never_reads_a_bin_even_a_loadable_one(model_copy, tmp_path):
    from loratui.train.models import ModelLoadError, _load_folder

    _pickle_only(model_copy, "unet", tmp_path, real=True)   # torch.load would accept it
    with pytest.raises(ModelLoadError, match=r"no file named diffusion_pytorch_model\.safetensors"):
        _load_folder(model_copy)


def test_pickle_weights_are_refused_before_anything_loads(model_copy, tmp_path, cfg_factory):
    from loratui.train.models import ModelLoadError, load_components
    from loratui.train.safety import preflight

    bin_path = _pickle_only(model_copy, "text_encoder", tmp_path, real=False)
    cfg = cfg_factory().model_copy(update={"model": cfg_factory().model.model_copy(
        update={"base": str(model_copy)})})
    problems = preflight(cfg)
    assert any(bin_path.name in p and "pickle" in p and "model.base" in p for p in problems)
    with pytest.raises(ModelLoadError, match=r"pytorch_model\.bin"):
        load_components(model_copy)
    assert not (tmp_path / "marker").exists()


def test_a_bin_beside_the_safetensors_is_ignored(model_copy, tmp_path):
    from loratui.train.models import load_components

    for part in ("unet", "vae", "text_encoder"):
        (model_copy / part / "diffusion_pytorch_model.bin").write_bytes(
            pickle.dumps(_Payload(tmp_path / "marker")))
        (model_copy / part / "pytorch_model.bin").write_bytes(
            pickle.dumps(_Payload(tmp_path / "marker")))
    parts = load_components(model_copy)
    assert parts.unet is not None and not (tmp_path / "marker").exists()

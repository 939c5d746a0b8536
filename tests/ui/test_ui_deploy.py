"""loratui.deploy: WebUI folder detection, atomic install, the guide's weights."""

from __future__ import annotations

import json

import pytest

from loratui.deploy import (
    MAX_WEIGHT,
    DeployError,
    find_lora_folder,
    install_lora,
    usage,
    workflow_json,
)


def test_finds_a1111_and_comfyui_from_any_level(tmp_path) -> None:
    a1111 = tmp_path / "sd-webui"
    (a1111 / "models" / "Lora").mkdir(parents=True)
    comfy = tmp_path / "ComfyUI"
    (comfy / "models" / "loras").mkdir(parents=True)
    for p in (a1111, a1111 / "models", a1111 / "models" / "Lora"):
        found = find_lora_folder(p)
        assert (found.ui, found.path) == ("AUTOMATIC1111", a1111 / "models" / "Lora")
    assert find_lora_folder(comfy).path == comfy / "models" / "loras"
    assert find_lora_folder(tmp_path).ui == "folder"
    (tmp_path / "bare" / "models").mkdir(parents=True)
    with pytest.raises(DeployError, match="neither Lora"):
        find_lora_folder(tmp_path / "bare")
    with pytest.raises(DeployError, match="nope does not exist"):
        find_lora_folder(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DeployError, match="file is not a folder"):
        find_lora_folder(tmp_path / "file")


def test_install_is_a_full_copy_and_refuses_to_overwrite(tmp_path) -> None:
    src = tmp_path / "a.safetensors"
    src.write_bytes(b"\1" * 3_000_000)
    dest = tmp_path / "dest"
    dest.mkdir()
    target = install_lora(src, dest)
    assert target.read_bytes() == src.read_bytes()
    assert not list(dest.glob(".*.tmp"))
    with pytest.raises(FileExistsError):
        install_lora(src, dest)
    target.write_bytes(b"the user's own LoRA of the same name")
    assert install_lora(src, dest, overwrite=True) == target
    assert target.read_bytes() == src.read_bytes()
    assert [b.read_bytes() for b in dest.glob("a.safetensors.*.bak")] == \
        [b"the user's own LoRA of the same name"]


def test_install_refuses_a_folder_or_a_pipe_in_the_way(tmp_path) -> None:
    import os

    from loratui.deploy import DeployError

    src = tmp_path / "a.safetensors"
    src.write_bytes(b"\1" * 64)
    for name, make in (("dir", os.mkdir), ("pipe", os.mkfifo)):
        dest = tmp_path / name
        dest.mkdir()
        make(dest / "a.safetensors")
        with pytest.raises(DeployError, match=r"a\.safetensors is a folder or a special file"):
            install_lora(src, dest, overwrite=True)


def test_usage_follows_the_guide(tmp_path) -> None:
    u = usage(tmp_path / "hanfu.safetensors", trigger="hanfu_girl_", kind="character")
    assert u.prompt == "hanfu_girl_, your prompt here, <lora:hanfu:0.6>"
    assert (u.low, u.high) == (0.75, 0.9) and u.weight < MAX_WEIGHT == 0.95
    wf = json.loads(workflow_json(u))
    lora = wf["10"]
    assert lora["class_type"] == "LoraLoader"
    assert lora["inputs"]["lora_name"] == "hanfu.safetensors"
    assert lora["inputs"]["strength_model"] == 0.6
    assert wf["3"]["inputs"]["model"] == ["10", 0]  # the sampler uses the LoRA'd model


def test_usage_of_an_sdxl_lora_loads_an_sdxl_checkpoint_at_1024(tmp_path) -> None:
    """The workflow written for an SDXL LoRA loads an SDXL checkpoint — the user's own base
    model file when it is one — at SDXL's size, and our doctor finds no family mismatch in it."""
    from loratui.config import RunConfig
    from loratui.doctor import diagnose_paths
    from loratui.ui.core import lora_usage

    lora = tmp_path / "hanfu_xl.safetensors"
    u = usage(lora, trigger="hanfu_girl_", kind="character", family="sdxl")
    wf = json.loads(workflow_json(u))
    assert wf["4"]["inputs"]["ckpt_name"] == "sd_xl_base_1.0.safetensors"
    assert (wf["5"]["inputs"]["width"], wf["5"]["inputs"]["height"]) == (1024, 1024)
    assert json.loads(workflow_json(usage(lora)))["5"]["inputs"]["width"] == 512  # SD1.5
    flow = tmp_path / "hanfu_xl.comfyui-api.json"
    flow.write_text(workflow_json(u))
    diags, _ = diagnose_paths([str(flow)])
    assert "PR111" not in {d.code for d in diags}

    cfg = RunConfig()
    cfg.model.family = "sdxl"
    cfg.model.base = str(tmp_path / "ponyDiffusionV6XL.safetensors")
    cfg.dataset.trigger_word = "hanfu_girl_"
    own = json.loads(workflow_json(lora_usage(lora, cfg)))
    assert own["4"]["inputs"]["ckpt_name"] == "ponyDiffusionV6XL.safetensors"
    assert own["5"]["inputs"]["width"] == 1024

"""Holes in the checks: invalid config values, empty LoRA files, folders of LoRAs."""

from __future__ import annotations

import json

import pytest
from safetensors.numpy import save_file

from loratui.doctor.config_defaults import CONSTRAINTS

from .helpers import codes, run_doctor, write
from .test_inputs import make_lora


def _pydantic_errors(doc: dict) -> set[str]:
    """The dotted keys `loratui config check` (the pydantic model) rejects."""
    from pydantic import ValidationError

    from loratui.config import RunConfig

    try:
        RunConfig.model_validate(doc)
    except ValidationError as exc:
        return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}
    return set()


def _toml(doc: dict) -> str:
    import tomlkit

    return tomlkit.dumps(doc)


INVALID_DOCS = [
    {"network": {"rank": -4}, "dataset": {"resolution": 0}},
    {"optimizer": {"unet_lr": float("nan")}},
    {"optimizer": {"unet_lr": float("inf"), "text_encoder_lr": -1e-4}},
    {"dataset": {"resolution": 516, "caption_extension": "txt", "repeats": 0}},
    {"training": {"batch_size": 0, "mixed_precision": "fp32", "epochs": 2.5}},
    {"network": {"rank": "eight", "alpha": -1.0, "dropout": 1.5}},
    {"output": {"save_precision": "float16"}, "sample": {"steps": 0}},
    {"tricks": {"dynamic_weight": {"start_fraction": 1.0, "end_scale": 0.0}}},
    {"network": {"rank": 16, "alpha": 16.0}, "dataset": {"resolution": 512}},  # valid
]


@pytest.mark.parametrize("doc", INVALID_DOCS)
def test_doctor_rejects_what_config_check_rejects(doc, tmp_path):
    path = write(tmp_path, "loratui.toml", _toml(doc))
    diags, _ = run_doctor([path])
    found = {d.location.key for d in diags if d.code == "CF144"}
    assert found == _pydantic_errors(doc)
    assert all(d.severity == "error" for d in diags if d.code == "CF144")


def test_constraints_match_the_model():
    from loratui.config import field_docs
    from loratui.doctor.config_defaults import constraint_of

    assert {r["key"]: constraint_of(r) for r in field_docs()} == CONSTRAINTS


def test_nan_learning_rate_is_one_finding(tmp_path):
    path = write(tmp_path, "loratui.toml", "[optimizer]\nunet_lr = nan\n"
                 "[dataset]\ntrigger_word = \"zq_cat\"\n")
    diags, _ = run_doctor([path])
    at_lr = [d for d in diags if d.location.key == "optimizer.unet_lr"]
    assert [d.code for d in at_lr] == ["CF144"], [d.message for d in at_lr]
    assert at_lr[0].location.line == 2 and "NaN" in at_lr[0].message


@pytest.mark.parametrize(("name", "text", "key"), [
    ("k.json", json.dumps({"network_dim": -8, "network_alpha": 4}), "network_dim"),
    ("k.json", '{"learning_rate": NaN, "unet_lr": "1e-4"}', "learning_rate"),
    ("k.json", json.dumps({"max_resolution": "0,0"}), "max_resolution"),
    ("config.toml", "pretrained_model_name_or_path = \"/m/v1-5.safetensors\"\n"
     "resolution = \"512,512\"\nunet_lr = inf\n", "unet_lr"),
])
def test_other_trainers_values_no_trainer_accepts(name, text, key, tmp_path):
    diags, _ = run_doctor([write(tmp_path, name, text)])
    bad = [d for d in diags if d.code == "CF144"]
    assert [d.location.key for d in bad] == [key]
    # the rules that reason about that value stay quiet about it
    assert not [d for d in diags if d.code != "CF144" and d.location.key == key]


def test_kohya_values_larger_than_ours_are_not_invalid(tmp_path):
    """kohya_ss takes ranks and resolutions loratui.toml does not; only nonsense is invalid."""
    text = json.dumps({"network_dim": 100000, "LoRA_type": "LyCORIS/LoKr",
                       "max_resolution": "1536,1536", "learning_rate": 0.0001})
    assert "CF144" not in codes(run_doctor([write(tmp_path, "k.json", text)])[0])


def test_empty_lora_file_is_an_error(tmp_path):
    path = tmp_path / "empty.safetensors"
    save_file({}, str(path), metadata={"ss_network_dim": "8"})
    diags, _ = run_doctor([path])
    assert [(d.code, d.severity) for d in diags] == [("LF101", "error")]
    assert "no tensors" in diags[0].message


def test_folder_of_loras_checks_every_file(tmp_path):
    folder = tmp_path / "Lora"
    folder.mkdir()
    make_lora(folder / "good.safetensors")
    make_lora(folder / "broken.safetensors", nan=True)
    save_file({}, str(folder / "empty.safetensors"))
    (folder / "good.json").write_text('{"sd version": "SD1", "activation text": "zq"}',
                                      encoding="utf-8")
    diags, inputs = run_doctor([folder])
    checked = {c.path.rsplit("/", 1)[-1] for c in inputs[0].children}
    assert checked == {"good.safetensors", "broken.safetensors", "empty.safetensors"}
    by_file = {(d.location.path.rsplit("/", 1)[-1], d.code) for d in diags}
    assert ("broken.safetensors", "LF105") in by_file
    assert ("empty.safetensors", "LF101") in by_file
    assert not [d for d in diags if d.location.path.endswith("good.safetensors")
                and d.severity == "error"]

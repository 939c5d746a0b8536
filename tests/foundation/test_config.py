from pathlib import Path

import pytest
import tomlkit

from loratui.config import ConfigError, RunConfig, load_config, parse_config, save_config
from loratui.config.docs import fields_markdown
from loratui.config.io import config_to_toml
from loratui.config.model import field_docs

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_follow_the_guide():
    cfg = RunConfig()
    assert cfg.dataset.resolution == 512  # P3
    assert cfg.network.rank == 8 and cfg.network.effective_alpha == 8  # P10, P11
    assert cfg.optimizer.unet_lr == 1e-4 and cfg.optimizer.text_encoder_lr == 5e-6  # P8, P9
    assert cfg.training.epochs == 10  # P13
    assert cfg.training.attention == "sdpa"
    assert cfg.tricks.dynamic_weight.enabled is False  # P27 opt-in
    assert cfg.tricks.label_pollution.enabled is False  # P28 opt-in
    assert cfg.model.family == "auto"  # detected from the base model


def test_every_field_is_documented():
    rows = field_docs()
    assert len(rows) > 50
    for row in rows:
        assert row["description"], row["key"]
    refs = {p for row in rows for p in row["pitfalls"]}
    assert {"P3", "P7", "P9", "P10", "P11", "P12", "P14", "P15", "P27", "P28", "P34"} <= refs


def test_toml_round_trip(tmp_path):
    cfg = RunConfig.model_validate({"network": {"rank": 16, "alpha": 24},
                                    "sample": {"prompts": ["{trigger}, portrait"]}})
    path = tmp_path / "loratui.toml"
    save_config(cfg, path)
    assert load_config(path, resolve=False) == cfg


def test_save_keeps_user_comments(tmp_path):
    path = tmp_path / "loratui.toml"
    save_config(RunConfig(), path)
    text = path.read_text().replace("[network]", "# my own note\n[network]")
    path.write_text(text)
    cfg = load_config(path, resolve=False)
    cfg.network.rank = 12
    save_config(cfg, path)
    out = path.read_text()
    assert "# my own note" in out
    assert tomlkit.parse(out)["network"]["rank"] == 12
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file


def test_validation_error_names_file_key_value_and_range(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[network]\nrank = 0\n[training]\nmixed_precision = 'fp32'\nbatchsize = 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "`network.rank` = 0" in msg and "[1, 1024]" in msg
    assert "training.mixed_precision" in msg and "one of no, fp16, bf16" in msg
    assert "unknown key `training.batchsize`" in msg


@pytest.mark.parametrize("text, fragment", [
    ("[network\nrank=1", "not valid TOML"),
    (b"\xff\xfe\x00", "not valid UTF-16 text"),
    (b"[network]\nrank = 8 # caf\xe9\n", "not valid UTF-8 text .byte 0xe9 at offset 24.*save it as UTF-8"),
])
def test_unreadable_files_give_a_clear_error(tmp_path, text, fragment):
    path = tmp_path / "x.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError, match=fragment):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    (tmp_path / "proj").mkdir()
    path = tmp_path / "proj" / "loratui.toml"
    path.write_text('[dataset]\ndir = "images"\n[output]\ndir = "/abs/out"\n')
    cfg = load_config(path)
    assert cfg.dataset.dir == str(tmp_path / "proj" / "images")
    assert cfg.output.dir == "/abs/out"


def test_sdxl_family_is_accepted_by_the_schema():
    assert parse_config({"model": {"family": "sdxl"}}).model.family == "sdxl"


def test_generated_toml_has_explanations():
    text = config_to_toml(RunConfig())
    assert "rank = 8 # LoRA rank" in text and "P10" in text


def test_docs_config_md_is_in_sync():
    assert (ROOT / "docs" / "config.md").read_text(encoding="utf-8") == fields_markdown(), \
        "regenerate: loratui config fields --markdown > docs/config.md"

import json
from pathlib import Path

import pytest
import tomllib

from loratui.config import ConfigError, RunConfig
from loratui.config.kohya import export_sdscripts, import_config

KOHYA = Path(__file__).resolve().parents[1] / "fixtures" / "kohya_ss_presets"
ALL_REAL = sorted(KOHYA.glob("*.json")) + sorted((KOHYA / "test_config").glob("*.json")) \
    + sorted((KOHYA / "test_config").glob("*.toml"))


@pytest.fixture(autouse=True)
def _no_language_setting(clean_language):
    """Every test here starts and ends with no language setting: the `--lang zh` runs
    below would otherwise leave Chinese set for the tests that come after this file."""


@pytest.mark.parametrize("path", ALL_REAL, ids=lambda p: p.name)
def test_every_real_kohya_config_imports(path):
    result = import_config(path)
    assert isinstance(result.config, RunConfig)
    raw = json.loads(path.read_text()) if path.suffix == ".json" else {}
    # Nothing is dropped silently: every key is mapped, special-cased or listed.
    from loratui.config.kohya import _BY_KEY, SPECIAL

    for key in raw:
        assert key in _BY_KEY or key in SPECIAL or key in result.unmapped, key


def test_edg_lora_preset_values():
    r = import_config(KOHYA / "sd15 - EDG_LoraOptiSettings.json")
    c = r.config
    assert (c.network.rank, c.network.alpha) == (64, 64.0)
    assert c.optimizer.unet_lr == 1e-4 and c.optimizer.text_encoder_lr == 5e-5  # "5e-05" string
    assert c.optimizer.name == "AdamW8bit"
    assert c.training.seed == 1234  # "1234" string
    assert c.training.noise_offset == 0.05
    assert c.training.attention == "xformers"
    assert c.training.batch_size == 3 and c.training.mixed_precision == "bf16"
    # "512,650": not square -> same-area square side with buckets, and a note saying so.
    assert c.dataset.resolution == 576 and c.dataset.bucketing
    assert any("512x650" in n for n in r.notes)
    assert r.unmapped["clip_skip"] == 2


def test_lycoris_and_out_of_range_values_are_reported():
    r = import_config(KOHYA / "sd15 - LoKr v2.0.json")
    assert any("not a plain LoRA" in n for n in r.notes)
    assert any("network.rank" in e and "100000" in e for e in r.errors)
    assert r.config.network.rank == 8  # invalid value dropped, default kept


def test_empty_caption_extension_warns_about_dot_caption():
    r = import_config(KOHYA / "test_config" / "locon-AdamW8bit.json")
    assert r.config.dataset.caption_extension == ".caption"
    assert any("C01" in n for n in r.notes)


def test_gui_zero_learning_rates_fall_back_to_learning_rate():
    r = import_config(KOHYA / "test_config" / "locon-AdamW8bit-toml.json")
    assert r.config.optimizer.unet_lr == 5e-4


def test_dataset_toml_import():
    r = import_config(KOHYA / "test_config" / "dataset.toml")
    c = r.config
    assert c.dataset.dir.endswith("10_darius kawasaki person")
    assert c.dataset.repeats == 10 and c.dataset.keep_tokens == 1 and c.dataset.bucketing
    assert c.training.batch_size == 4
    assert "min_bucket_reso" in r.unmapped
    assert any("class_tokens" in k for k in r.unmapped)


def test_sdscripts_toml_with_dataset(tmp_path):
    conf = tmp_path / "config.toml"
    conf.write_text('[model_arguments]\npretrained_model_name_or_path = "/m/v1-5.safetensors"\n'
                    '[training_arguments]\nnetwork_dim = 16\nnetwork_alpha = 16\n'
                    'optimizer_type = "AdamW8bit"\nmax_train_epochs = 12\nsdpa = true\n'
                    'mixed_precision = "fp16"\nclip_skip = 2\n')
    r = import_config(conf, KOHYA / "test_config" / "dataset.toml")
    c = r.config
    assert c.model.base == "/m/v1-5.safetensors"
    assert (c.network.rank, c.training.epochs, c.training.attention) == (16, 12, "sdpa")
    assert c.dataset.repeats == 10 and c.training.batch_size == 4
    assert r.unmapped["clip_skip"] == 2


def test_export_round_trips_through_import(tmp_path):
    cfg = RunConfig.model_validate({
        "model": {"base": "/models/sd15"}, "dataset": {"dir": "/data/10_cat", "repeats": 10},
        "network": {"rank": 16, "alpha": 16}, "training": {"epochs": 7, "batch_size": 2}})
    conf, dataset = export_sdscripts(cfg)
    tomllib.loads(conf), tomllib.loads(dataset)
    (tmp_path / "config.toml").write_text(conf)
    (tmp_path / "dataset.toml").write_text(dataset)
    back = import_config(tmp_path / "config.toml", tmp_path / "dataset.toml").config
    assert back.network.rank == 16 and back.training.epochs == 7
    assert back.dataset.dir == "/data/10_cat" and back.training.batch_size == 2


def test_broken_inputs_raise_config_error(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match=r"x\.json"):
        import_config(bad)
    arr = tmp_path / "y.json"
    arr.write_text("[1, 2]")
    with pytest.raises(ConfigError):
        import_config(arr)


@pytest.mark.parametrize("name", ["sd15 - EDG_LoraOptiSettings.json", "sd15 - LoKr v2.0.json",
                                  "test_config/locon-AdamW8bit.json"])
def test_import_notes_are_shown_in_chinese(name, tmp_path, monkeypatch):
    from tests.foundation.test_cli_chinese import english_sentences, run_cli

    src = KOHYA / name
    code, _, err = run_cli(["--lang", "zh", "config", "import", str(src), "-o",
                            str(tmp_path / "loratui.toml")], monkeypatch)
    assert code == 0
    notes = [line for line in err.splitlines() if line.strip().startswith("注意：")]
    assert notes and len(notes) == len(import_config(src).notes)
    assert not english_sentences("\n".join(notes).replace(str(src), "")), notes
    code, _, err = run_cli(["--lang", "en", "config", "import", str(src), "-o",
                            str(tmp_path / "en.toml")], monkeypatch)
    assert "note: " in err


def test_dataset_toml_notes_in_chinese(tmp_path, monkeypatch):
    from tests.foundation.test_cli_chinese import run_cli

    ds = tmp_path / "dataset.toml"
    ds.write_text('[[datasets]]\n[[datasets.subsets]]\nimage_dir = "/d/1_a"\n'
                  '[[datasets.subsets]]\nimage_dir = "/d/2_b"\n[[datasets]]\n',
                  encoding="utf-8")
    code, _, err = run_cli(["--lang", "zh", "config", "import", str(ds), "-o",
                            str(tmp_path / "loratui.toml")], monkeypatch)
    assert code == 0
    assert "2 个数据集：loratui 导入第一个" in err
    assert "2 个训练子集：loratui 只读取一个文件夹（/d）" in err


def test_invalid_values_are_explained_in_chinese(tmp_path, monkeypatch):
    from tests.foundation.test_cli_chinese import run_cli

    src = tmp_path / "kohya.json"
    src.write_text(json.dumps({"network_dim": "z", "max_resolution": "abc", "lr_warmup": "x",
                               "seed": "1.5"}), encoding="utf-8")
    code, _, err = run_cli(["--lang", "zh", "config", "import", str(src), "-o",
                            str(tmp_path / "loratui.toml")], monkeypatch)
    assert code == 0
    assert "`network_dim` = 'z'：应为数字，实际是 'z'" in err
    assert "`lr_warmup` = 'x'：不是数字" in err
    assert "`seed` = '1.5'：应为整数，实际是 '1.5'" in err
    assert "could not convert" not in err and "expected" not in err
    result = import_config(src)
    assert "`network_dim` = 'z': expected a number, got 'z'" in result.errors

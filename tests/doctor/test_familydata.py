"""One reader of `data/<family>/family.toml`: the families package and the doctor agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from loratui import families, familydata
from loratui.doctor.catalog import load_catalog, thresholds_for
from loratui.doctor.predicates.config import family_native

from .helpers import codes, run_doctor, write


@pytest.mark.parametrize("fid", ["sd15", "sdxl"])
def test_families_and_doctor_read_the_same_thresholds(fid):
    fam = families.get(fid)
    doctor = familydata.doctor_thresholds(fid)
    assert fam.doctor == doctor
    cf101 = next(r for r in load_catalog(use_cache=False).rules if r.code == "CF101")
    assert family_native(fid, thresholds_for(cf101, {}, fid)) == doctor["native_resolutions"]
    assert fam.native_resolution in doctor["native_resolutions"]
    assert fam.bucket_step % doctor["bucket_multiple"] == 0
    assert familydata.table(fid)["family"]["label"] == fam.label


def test_family_names_come_from_the_family_data(monkeypatch):
    """`families.NAMES`: each trained family's `label` as its family.toml writes it, plus
    the families and architectures loratui recognises without data (SD2, Flux …): one
    table, which every label in messages comes from."""
    assert {fid: families.NAMES[fid] for fid in ("sd15", "sd2", "sdxl", "flux")} == \
        {"sd15": "SD1.5", "sd2": "SD2.x", "sdxl": "SDXL", "flux": "Flux"}
    assert all(families.label(fid) == name for fid, name in families.NAMES.items())
    assert families.label("nonesuch") == "nonesuch"
    assert all(families.NAMES[fid] == families.get(fid).label for fid in families.ids())
    real = familydata.table

    def relabelled(fid):
        data = real(fid)
        return {**data, "family": {**data["family"], "label": "XL"}} if fid == "sdxl" else data

    monkeypatch.setattr(familydata, "table", relabelled)
    families.names.cache_clear()
    try:
        assert families.NAMES["sdxl"] == "XL"
    finally:
        families.names.cache_clear()


def test_families_loratui_does_not_train_have_no_table_and_fall_back_to_the_rule():
    assert familydata.table("sd2") is None and familydata.doctor_thresholds("sd2") is None
    assert familydata.table("../sd15") is None
    assert family_native("sd2", {"sd2": [512, 768]}) == [512, 768]
    assert family_native("flux", {"native_resolutions": [512]}) is None  # never SD1.5's


def test_bucket_multiple_comes_from_the_family_data(tmp_path):
    sdxl = {"pretrained_model_name_or_path": "/m/sd_xl_base_1.0.safetensors", "sdxl": True,
            "bucket_reso_steps": 32, "enable_bucket": True, "output_dir": "/out"}
    sd15 = dict(sdxl, pretrained_model_name_or_path="/m/v1-5-pruned.safetensors", sdxl=False)
    assert "CF118" not in codes(run_doctor([write(tmp_path, "xl.json", json.dumps(sdxl))])[0])
    assert "CF118" in codes(run_doctor([write(tmp_path, "v15.json", json.dumps(sd15))])[0])


def test_doctor_reads_family_data_without_pathlib(tmp_path):
    """A non-native SDXL resolution makes the doctor read sdxl's family.toml: still no
    pathlib and no families package on its start-up path, and (the table cached by the
    first run) no tomllib for a JSON config."""
    cfg = write(tmp_path, "cfg.json", json.dumps({
        "pretrained_model_name_or_path": "/m/sd_xl_base_1.0.safetensors", "sdxl": True,
        "resolution": "768,768", "output_dir": "/out", "network_dim": 16}))
    code = ("import sys, runpy; sys.argv=['loratui','doctor',%r];\n"
            "try:\n runpy.run_module('loratui', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print('LOADED', sorted(m for m in ('pathlib', 'loratui.families') "
            "if m in sys.modules), 'toml' in str(sorted(sys.modules)), file=sys.stderr)"
            ) % str(cfg)
    env = dict(os.environ, LORATUI_CACHE_DIR=str(tmp_path / "cache"))
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "LOADED [] True" in first.stderr, first.stderr
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "LOADED [] False" in out.stderr, out.stderr
    assert "CF101" in out.stdout and "1024" in out.stdout and out.stdout == first.stdout


def test_data_cache_follows_edits_and_ignores_foreign_files(tmp_path, monkeypatch):
    from loratui import datacache

    monkeypatch.setenv("LORATUI_CACHE_DIR", str(tmp_path / "cache"))
    src = write(tmp_path, "t.toml", "a = 1\n")
    calls = []

    def build(files):
        calls.append(files)
        return datacache.toml_loads(open(files[0], encoding="utf-8").read())

    assert datacache.cached("t", [str(src)], build) == {"a": 1}
    assert datacache.cached("t", [str(src)], build) == {"a": 1} and len(calls) == 1
    src.write_text("a = 22\n", encoding="utf-8")  # another size: another key
    assert datacache.cached("t", [str(src)], build) == {"a": 22} and len(calls) == 2
    for f in (tmp_path / "cache" / "loratui").glob("t-*.cache"):
        f.write_bytes(b"LTRC\0\0\0\0junk")
    assert datacache.cached("t", [str(src)], build) == {"a": 22} and len(calls) == 3


def test_the_cross_attention_widths_agree_with_the_shipped_unet_configs():
    for fid in families.ids():
        config = json.loads((families.get(fid).config_dir / "unet" / "config.json").read_text())
        assert families.family_of_cross_attention(config["cross_attention_dim"]) == fid
    assert families.family_of_cross_attention(1024) == "sd2"
    assert families.family_of_cross_attention(32) is None
    assert families.family_of_cross_attention("768") is None


def test_a_lora_is_named_for_the_family_its_data_says():
    """A LoRA trained on SD1.5 loads on any SD1.x model: `[family] lora_label` names it so
    (`lora inspect`, the doctor's LoRA findings); other families use their label."""
    assert familydata.lora_label("sd15") == "SD1.x" and familydata.label("sd15") == "SD1.5"
    assert [familydata.lora_label(f) for f in ("sdxl", "sd2", "flux")] == \
        ["SDXL", "SD2.x", "Flux"]

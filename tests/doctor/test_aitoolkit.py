"""ai-toolkit (ostris) jobs: YAML and JSON configs read into config facts (provenance
"user", key paths and lines), the config rules on them, and their dataset folders."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loratui.doctor.inputs import detect, load

from .helpers import codes, run_doctor, write

SDXL_JOB = """\
---
job: extension
config:
  # the folder and file name
  name: "{name}"
  process:
    - type: 'sd_trainer'
      training_folder: "{folder}"
      device: cuda:0
      trigger_word: "ohwx"
      network:
        type: "lora"
        linear: {rank}
        linear_alpha: {alpha}
      save:
        dtype: float16 # precision to save
        save_every: 250
        max_step_saves_to_keep: 4
      datasets:
        - folder_path: "{data}"
          caption_ext: "txt"
          caption_dropout_rate: 0.05
          cache_latents_to_disk: true
          resolution: {res}
      train:
        batch_size: 1
        steps: 3000
        gradient_checkpointing: true
        noise_scheduler: "ddpm"
        optimizer: "adamw8bit"
        lr: {lr}
        dtype: {dtype}
      model:
        name_or_path: "stabilityai/stable-diffusion-xl-base-1.0"
        is_xl: {is_xl}
        quantize: false
      sample:
        sampler: "ddpm"
        sample_every: 250
        prompts:
          - "[trigger] holding a sign"
meta:
  name: "[name]"
"""
GOOD = dict(name="char_sdxl_v1", folder="/tmp", rank=32, alpha=32, data="/data/char",
            res="[ 1024 ]", lr="1e-4", dtype="bf16", is_xl="true")


def job(**changes) -> str:
    return SDXL_JOB.format(**{**GOOD, **changes})


def test_yaml_job_is_read_as_the_user_wrote_it(tmp_path):
    path = write(tmp_path, "train_lora_sdxl.yaml", job(rank=128, alpha=64, lr="4e-4"))
    assert detect(path) == "aitoolkit"
    inp = load(path)
    f = inp.facts
    assert inp.error is None and f.trainer == "ai-toolkit"
    assert f.get("network_dim") == 128 and f.origin("network_dim") == "user"
    assert f.get("network_alpha") == 64.0 and f.get("learning_rate") == 4e-4
    assert f.get("unet_lr") == 4e-4 and f.origin("unet_lr") == "inferred"  # train.lr
    assert f.get("sdxl") is True and f.get("resolution") == (1024, 1024)
    assert f.get("mixed_precision") == "bf16" and f.get("save_precision") == "fp16"
    assert f.get("caption_extension") == ".txt" and f.get("train_batch_size") == 1
    assert f.get("output_name") == "char_sdxl_v1" and f.get("trigger_word") == "ohwx"
    assert f.display_key("network_dim") == "network.linear"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert "linear: 128" in lines[f.line_of("network_dim") - 1]
    assert "lr: 4e-4" in lines[f.line_of("learning_rate") - 1]
    # what the job leaves out is unknown, never sd-scripts' default
    assert f.origin("network_module") == "unknown" and f.get("max_train_epochs") is None


@pytest.mark.parametrize(("changes", "expected"), [
    ({"rank": 256, "alpha": 256}, "CF102"),
    ({"rank": 32, "alpha": 128}, "CF103"),
    ({"lr": "2e-2"}, "CF106"),
    ({"res": "[ 512, 768 ]"}, "CF101"),       # SDXL trained at 768 at most
    ({"name": "my:char?v1"}, "CF131"),
    ({"is_xl": "false"}, "CF125"),           # an SDXL base loaded as SD1.x
])
def test_config_rules_run_on_a_job(tmp_path, changes, expected):
    diags, _ = run_doctor([write(tmp_path, "job.yaml", job(**changes))])
    assert expected in codes(diags), [(d.code, d.message) for d in diags]
    hit = next(d for d in diags if d.code == expected)
    assert hit.location.path.endswith("job.yaml") and hit.location.line
    assert hit.fix is None or not hit.fix.edits  # shown, never written into the YAML


def test_clean_job_and_save_path(tmp_path):
    assert not [d for d in run_doctor([write(tmp_path, "ok.yaml", job())])[0]
                if d.severity != "info"]
    blocker = write(tmp_path, "a_file", "x")
    diags, _ = run_doctor([write(tmp_path, "s.yaml", job(folder=f"{blocker}/out"))])
    assert "CF129" in codes(diags)
    rel = run_doctor([write(tmp_path, "r.yaml", job(folder="output"))])[0]
    assert "CF130" in codes(rel)


def test_flux_job_gets_no_sd_family_advice(tmp_path):
    text = job(res="[ 512, 768, 1024 ]").replace(
        "stabilityai/stable-diffusion-xl-base-1.0", "black-forest-labs/FLUX.1-dev").replace(
        "is_xl: true", "is_flux: true")
    inp = load(write(tmp_path, "flux.yaml", text))
    assert inp.facts.extra["model_arch"] == "flux" and not inp.facts.get("sdxl")
    diags, _ = run_doctor([inp.path])
    assert not [d for d in diags if d.severity != "info"], [d.message for d in diags]


def test_json_job_and_pasted_yaml(tmp_path):
    import yaml

    data = yaml.safe_load(job(rank=256, alpha=256))
    js = write(tmp_path, "job.json", json.dumps(data, indent=2))
    assert detect(js) == "aitoolkit" and "CF102" in codes(run_doctor([js])[0])
    pasted = write(tmp_path, "paste.txt", job(rank=256, alpha=256))
    assert detect(pasted) == "aitoolkit" and "CF102" in codes(run_doctor([pasted])[0])


def test_dataset_folder_of_a_job_is_checked(tmp_path):
    from PIL import Image

    data = tmp_path / "imgs"
    data.mkdir()
    for i in range(3):
        Image.new("RGB", (1024, 1024), "white").save(data / f"{i}.png")
    diags, inputs = run_doctor([write(tmp_path, "job.yaml", job(data=str(data)))])
    child = inputs[0].children[0]
    assert child.kind == "dataset" and len(child.data.images) == 3
    assert child.data.caption_extension == ".txt"
    assert "DS101" in codes(diags)  # 3 images: far too few


@pytest.mark.parametrize(("text", "needle"), [
    ("config:\n  process:\n    - type: sd_trainer\n      network: [unclosed\n", "not valid YAML"),
    ("config:\n  name: x\n", "not an ai-toolkit job"),
    ("config:\n  process:\n    - 7\n", "no training process"),
])
def test_bad_jobs_are_one_clear_error(tmp_path, text, needle):
    path = write(tmp_path, "bad.yaml", text)
    inp = load(path, "aitoolkit")
    assert inp.error and needle in inp.error
    diags, _ = run_doctor([path], as_kind="aitoolkit")
    assert codes(diags) == {"DR002"}


def test_yaml_is_imported_only_for_yaml(tmp_path):
    import subprocess
    import sys

    cfg = write(tmp_path, "cfg.json", json.dumps({"network_dim": 64, "output_dir": "/out"}))
    code = ("import sys, runpy; sys.argv=['loratui','doctor',%r];\n"
            "try:\n runpy.run_module('loratui', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print('YAML', 'yaml' in sys.modules, file=sys.stderr)") % str(cfg)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "YAML False" in out.stderr, out.stderr


_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | \
    st.floats(allow_nan=True) | st.text(max_size=12)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) |
                       st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
_sections = st.fixed_dictionaries({}, optional={
    k: _values | st.dictionaries(st.sampled_from(
        ["linear", "linear_alpha", "lr", "steps", "batch_size", "dtype", "optimizer",
         "name_or_path", "is_xl", "arch", "folder_path", "caption_ext", "resolution",
         "save_every", "type"]), _values, max_size=6)
    for k in ("network", "train", "model", "save", "datasets", "type", "training_folder")})


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_sections | _values, max_size=3), st.none() | st.text(max_size=10))
def test_fuzz_aitoolkit_jobs(procs, name):
    """Any job ai-toolkit's shape allows (and many it does not) is facts or one ReadError."""
    from loratui.doctor.inputs import ReadError
    from loratui.doctor.inputs.aitoolkit import aitoolkit_facts

    data = {"job": "extension", "config": {"name": name, "process": procs}}
    try:
        f = aitoolkit_facts(data, "")
    except ReadError:
        return
    assert f.trainer == "ai-toolkit" and not f.complete


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=400))
def test_fuzz_yaml_text_never_crashes(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("y") / "job.yaml"
    path.write_text("config:\n  process:\n    - type: sd_trainer\n" + text, encoding="utf-8")
    diags, _ = run_doctor([path], as_kind="aitoolkit")
    assert "DR001" not in codes(diags)

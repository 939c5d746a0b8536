"""CLIP's real tokenizer offline: trigger facts, single-file checkpoints, the 77-token cap,
and the pre-flight check of a model's tokenizer folder."""

from __future__ import annotations

import json
import shutil

import pytest

# ComfyUI's comfy/sd1_tokenizer/tokenizer_config.json, as it ships (AddedToken dicts, 8192)
COMFY_SD1_TOKENIZER_CONFIG = {
    "add_prefix_space": False,
    "bos_token": {"__type": "AddedToken", "content": "<|startoftext|>", "lstrip": False,
                  "normalized": True, "rstrip": False, "single_word": False},
    "do_lower_case": True,
    "eos_token": {"__type": "AddedToken", "content": "<|endoftext|>", "lstrip": False,
                  "normalized": True, "rstrip": False, "single_word": False},
    "errors": "replace",
    "model_max_length": 8192,
    "name_or_path": "openai/clip-vit-large-patch14",
    "pad_token": "<|endoftext|>",
    "special_tokens_map_file": "./special_tokens_map.json",
    "tokenizer_class": "CLIPTokenizer",
    "unk_token": {"__type": "AddedToken", "content": "<|endoftext|>", "lstrip": False,
                  "normalized": True, "rstrip": False, "single_word": False},
}


def test_sd15_clip_vocabulary_ships_and_tokenizes_like_sd15():
    from loratui.clip_tokenizer import clip_bpe, clip_tokenizer

    vocab, merges = clip_bpe()
    assert len(vocab) == 49408 and len(merges) == 48894
    tok = clip_tokenizer()
    # ids as in openai/clip-vit-large-patch14 (the SD1.5 text encoder's tokenizer)
    assert tok("woman").input_ids == [49406, 2308, 49407]
    assert tok.tokenize("beautiful girl") == ["beautiful</w>", "girl</w>"]
    assert tok("sks").input_ids == [49406, 48136, 49407]
    assert tok.model_max_length == 77 and tok.pad_token_id == 49407
    padded = tok("a photo of sks dog", padding="max_length", truncation=True,
                 max_length=tok.model_max_length).input_ids
    assert len(padded) == 77
    assert clip_tokenizer(pad_token="!").pad_token_id == 0  # SDXL's second tokenizer


def test_trigger_facts_use_the_real_vocabulary_even_on_the_tiny_model(tiny_model):
    from loratui.dataset.trigger import check_trigger, load_tokenizer

    for tok in (load_tokenizer(), load_tokenizer(tiny_model)):  # tiny's own has 586 tokens
        assert len(tok) == 49408
        rep = check_trigger("woman", tokenizer=tok)
        assert rep.tokens == ["woman"]
        assert "trigger-known-token" in {f.kind for f in rep.findings}
        assert check_trigger("beautiful girl", tokenizer=tok).tokens == ["beautiful", "girl"]
        assert check_trigger("lrt_girl", tokenizer=tok).tokens == ["lrt", "_", "girl"]


def test_trigger_cli_prints_clip_tokens_without_a_model(tmp_path):
    from train_helpers import cli

    (tmp_path / "a.txt").write_text("woman, red hair")
    out = cli("dataset", "trigger", str(tmp_path), "woman", "--json", timeout=120)
    assert out.returncode in (0, 1), out.stderr
    assert json.loads(out.stdout)["tokens"] == ["woman"]


def test_single_file_checkpoint_without_a_tokenizer_uses_the_shipped_one(tiny_model, tmp_path,
                                                                          monkeypatch):
    from ldm_checkpoint import save_ldm_checkpoint

    from loratui.train.models import load_components

    monkeypatch.delenv("LORATUI_CLIP_TOKENIZER", raising=False)
    (tmp_path / "ckpts").mkdir()
    ckpt = save_ldm_checkpoint(tiny_model, tmp_path / "ckpts" / "tiny.safetensors")
    assert not (ckpt.parent / "tokenizer").exists()
    comps = load_components(ckpt, config_dir=tiny_model)
    assert len(comps.tokenizer) == 49408
    assert comps.tokenizer("woman").input_ids == [49406, 2308, 49407]
    assert comps.tokenizer.model_max_length == 77


def _comfy_tokenizer(folder):
    """A tokenizer folder laid out as ComfyUI's comfy/sd1_tokenizer (model_max_length 8192),
    with the tiny model's vocabulary."""
    (folder / "tokenizer_config.json").write_text(json.dumps(COMFY_SD1_TOKENIZER_CONFIG))


@pytest.mark.slow
def test_a_tokenizer_claiming_8192_tokens_is_capped_and_trains(tiny_model, demo_dataset,
                                                               tmp_path):
    from train_helpers import make_config

    from loratui.train import train
    from loratui.train.models import load_components

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    _comfy_tokenizer(model / "tokenizer")
    assert load_components(model).tokenizer.model_max_length == 77
    cfg = make_config(model, demo_dataset, tmp_path / "runs", training={"max_steps": 2})
    result = train(cfg, log_to_stderr=False)
    assert result.state == "finished", result.message


def test_preflight_refuses_a_model_without_a_usable_tokenizer(tiny_model, demo_dataset,
                                                              tmp_path):
    from train_helpers import make_config

    from loratui.train import train
    from loratui.train.safety import PreflightError

    broken = tmp_path / "no_tokenizer"
    shutil.copytree(tiny_model, broken)
    shutil.rmtree(broken / "tokenizer")
    alien = tmp_path / "alien_tokenizer"  # the full CLIP vocabulary on a 586-token encoder
    shutil.copytree(tiny_model, alien)
    from loratui.clip_tokenizer import clip_bpe

    vocab, merges = clip_bpe()
    (alien / "tokenizer" / "vocab.json").write_text(json.dumps(vocab))
    (alien / "tokenizer" / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    for model, expect in ((broken, "no tokenizer folder"), (alien, "49408 tokens")):
        runs = tmp_path / f"runs-{model.name}"
        cfg = make_config(model, demo_dataset, runs)
        with pytest.raises(PreflightError) as err:
            train(cfg, log_to_stderr=False)
        assert expect in str(err.value) and str(model / "tokenizer") in str(err.value)
        assert not runs.exists() or not any(runs.iterdir())  # no failed run folder left

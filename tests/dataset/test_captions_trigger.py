"""Caption edits, label pollution, trigger checks and insertion, BLIP and CLIP (tiny, offline)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from loratui.dataset import captions as cap
from loratui.dataset.edit import SourceFolderError, edit_captions, insert_trigger
from loratui.dataset.prepare import prepare
from loratui.dataset.trigger import check_trigger, english_words, suggest, word_problems

from .dataset_fixtures import write_image


def test_bulk_edits():
    assert cap.add_prefix("red dress", "zz_") == "zz_, red dress"
    assert cap.add_prefix("zz_, red dress", "zz_") == "zz_, red dress"
    assert cap.remove_tag("a, Watermark, b, watermark", "watermark") == "a, b"
    assert cap.dedupe_tags("a, b, A, c, b") == "a, b, c"
    assert cap.put_first("red dress, zz_, hat", "zz_") == "zz_, red dress, hat"
    assert cap.put_first("a zz_ girl", "zz_") == "a zz_ girl"
    assert cap.put_first("hat", "zz_") == "zz_, hat"
    edits = cap.build_edits(prefix="zz_", replace=("girl", "woman"), remove=["hat"], dedupe=True)
    assert cap.apply_edits("girl, hat, smile, smile", edits) == "zz_, woman, smile"


def test_noise_tag_is_one_wrong_tag_and_reproducible():
    a = [cap.add_noise_tag("red dress, garden", random.Random(7)) for _ in range(3)]
    b = [cap.add_noise_tag("red dress, garden", random.Random(7)) for _ in range(3)]
    assert a == b
    tags = cap.split_tags(a[0])
    assert len(tags) == 3 and tags[2] in cap.DEFAULT_NOISE_TAGS
    assert cap.add_noise_tag("x", random.Random(1), probability=0.0) == "x"


def test_style_and_tokens():
    assert cap.caption_style("1girl, long hair, blue eyes") == "tags"
    assert cap.caption_style("a girl with long hair standing in a garden") == "sentence"
    assert cap.estimate_clip_tokens("red dress, garden") == 4
    assert cap.estimate_clip_tokens("x " * 100) == 100


@pytest.mark.parametrize(("word", "kind"), [
    ("beautiful girl", "trigger-space"),
    ("beautiful girl", "trigger-common-phrase"),
    ("girl", "trigger-english-word"),
    ("beautifulgirl", "trigger-run-together"),
    ("ab", "trigger-short"),
    ("my,lora", "trigger-punctuation"),
    ("汉服女孩", "trigger-cjk"),
    ("café_style", "trigger-non-ascii"),
])
def test_bad_trigger_words(word, kind):
    assert kind in {f.kind for f in word_problems(word)}


def test_good_trigger_words_and_suggestions():
    assert "girl" in english_words() and "hanfu" not in english_words()
    for good in ("hanfu_girl_", "ohwx", "char_zkq_style"):
        assert not word_problems(good), good
    for s in suggest("beautiful girl"):
        assert not [f for f in word_problems(s) if f.severity == "error"], s


def test_trigger_presence_in_captions():
    rep = check_trigger("hanfu_girl_", {"a.txt": "hanfu_girl_, dress", "b.txt": "dress",
                                        "c.txt": "dress, hanfu_girl_", "d.txt": None})
    assert rep.missing == ["b.txt", "d.txt"] and rep.not_first == ["c.txt"]
    assert not rep.ok


def test_insert_trigger_only_in_copy_or_with_backup(tmp_path):
    src = tmp_path / "src"
    write_image(src / "a.png", seed=1, caption="red dress")
    write_image(src / "b.png", seed=2, caption=None)
    with pytest.raises(SourceFolderError, match="source folder"):
        insert_trigger(src, "zz_tr_")
    out = tmp_path / "out"
    prepare(src, out)
    res = insert_trigger(out, "zz_tr_")
    assert res.changed == ["a.txt"] and res.created == ["b.txt"]
    assert (out / "a.txt").read_text() == "zz_tr_, red dress\n"
    assert (out / "b.txt").read_text() == "zz_tr_\n"
    assert (src / "a.txt").read_text() == "red dress"               # source untouched
    res = insert_trigger(src, "zz_tr_", in_place=True)
    assert (src / "a.txt").read_text() == "zz_tr_, red dress\n"
    assert Path(res.backup_dir, "a.txt").read_text() == "red dress"


def test_edit_captions_dry_run_changes_nothing(tmp_path):
    write_image(tmp_path / "a.png", seed=1, caption="a, b, a")
    res = edit_captions(tmp_path, [cap.dedupe_tags], dry_run=True)
    assert res.changed == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "a, b, a"


def test_blip_captions_written_offline(tiny_blip, tmp_path):
    from loratui.dataset.models import caption_folder

    write_image(tmp_path / "a.png", seed=1, caption=None)
    write_image(tmp_path / "b.jpg", seed=2, fmt="JPEG", caption=None)
    write_image(tmp_path / "c.png", seed=3, caption="my own caption")
    write_image(tmp_path / "d.png", 300, 200, seed=4, mode="RGBA", caption=None)
    res = caption_folder(tmp_path, tiny_blip, batch_size=2, prefix="zz_tr_", max_new_tokens=6,
                         num_beams=1)
    assert sorted(res.written) == ["a.txt", "b.txt", "d.txt"] and res.kept == 1
    for name in ("a", "b", "d"):
        text = (tmp_path / f"{name}.txt").read_text(encoding="utf-8")
        assert text.startswith("zz_tr_") and text.endswith("\n")
    assert (tmp_path / "c.txt").read_text() == "my own caption"      # never overwritten
    res = caption_folder(tmp_path, tiny_blip, overwrite=True, max_new_tokens=4, num_beams=1)
    assert len(res.written) == 4
    assert Path(res.backup_dir, "c.txt").read_text() == "my own caption"


def test_missing_blip_model_says_how_to_fetch(tmp_path, monkeypatch):
    from loratui.dataset.models import ModelNotFound, caption_folder

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    write_image(tmp_path / "a.png", seed=1, caption=None)
    with pytest.raises(ModelNotFound, match="hf download Salesforce/blip-image-captioning-base"):
        caption_folder(tmp_path, None)
    with pytest.raises(ModelNotFound, match=r"no config\.json"):
        caption_folder(tmp_path, tmp_path)


def test_clip_agreement_lists_worst_pairs(tiny_clip, tmp_path):
    from loratui.dataset.models import clip_agreement

    for i in range(4):
        write_image(tmp_path / f"{i}.png", seed=i, caption=f"a girl in a red dress {i}")
    worst = clip_agreement(tmp_path, tiny_clip, top=3)
    assert len(worst) == 3
    assert [w.score for w in worst] == sorted(w.score for w in worst)
    assert all(-1.0 <= w.score <= 1.0 for w in worst)


def test_tokenizer_split_shown(tiny_clip):
    from loratui.dataset.trigger import load_tokenizer

    tok = load_tokenizer(tiny_clip)
    rep = check_trigger("zz_girl_", tokenizer=tok)
    assert rep.tokens and "".join(rep.tokens) == "zz_girl_"


def test_exact_token_counts_with_a_tokenizer(tiny_clip, tmp_path):
    from loratui.dataset import scan
    from loratui.dataset.trigger import load_tokenizer

    write_image(tmp_path / "a.png", seed=1, caption="hanfu_girl_v2, red dress")
    tok = load_tokenizer(tiny_clip)  # a tiny test vocabulary: SD1.5's real CLIP is used
    exact = scan(tmp_path, tokenizer=tok)
    assert exact.tokens_exact
    # han|fu|_|girl|_|v|2|,|red|dress in SD1.5's CLIP vocabulary
    assert exact.images[0].caption_tokens == len(tok.tokenize("hanfu_girl_v2, red dress")) == 10
    assert scan(tmp_path).images[0].caption_tokens != 10  # the estimate


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_blip_never_writes_over_a_caption_name_that_holds_something_else(tiny_blip, tmp_path):
    """A pipe (copying it for the backup would wait forever), a folder and a 2 GB file
    (a log named like a caption) are left as they are, each named; the rest is captioned."""
    from loratui.dataset.models import caption_folder

    for name in ("pipe", "folder", "huge", "plain"):
        write_image(tmp_path / f"{name}.png", seed=len(name), caption=None)
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "folder.txt").mkdir()
    with open(tmp_path / "huge.txt", "wb") as fh:
        fh.truncate(2 * 1024**3)
    res = caption_folder(tmp_path, tiny_blip, overwrite=True, max_new_tokens=4, num_beams=1)
    assert res.written == ["plain.txt"]
    assert sorted(res.failed) == ["folder.png", "huge.png", "pipe.png"]
    assert "pipe.txt is not a readable caption file (not-a-file)" in res.failed["pipe.png"]
    assert (tmp_path / "folder.txt").is_dir() and (tmp_path / "huge.txt").stat().st_size == \
        2 * 1024**3

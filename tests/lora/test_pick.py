"""The Test step's core: a pick becomes a prompt, a ComfyUI workflow and the guide's words,
and goes through the doctor's usage rules (P17–P22)."""

from __future__ import annotations

import json


def _in_use(path):
    from loratui.lora.blocks import block_strengths

    s = block_strengths(path)
    return s.layout, [b for b in s.layout.blocks if s.modules[b]]


def test_pick_with_block_vector_writes_prompt_and_baked_workflow(tiny_a, tmp_path):
    from loratui.doctor.inputs.prompt import parse_prompt
    from loratui.lora.pick import Pick, build, write_outputs
    from loratui.lora.weights import load_weights

    layout, in_use = _in_use(tiny_a)
    r = build(Pick(tiny_a, 0.7, "OUTALL"), layout, in_use, trigger="sks", bake_dir=tmp_path)
    assert r.prompt == "sks, your prompt here, <lora:tiny_a:0.7:lbw=OUTALL>"
    use = parse_prompt(r.prompt).uses[0]
    assert (use.name, use.weight, use.lbw) == ("tiny_a", 0.7, "OUTALL")
    assert r.findings == []
    loader = r.workflow["10"]["inputs"]
    assert loader["lora_name"] == "tiny_a-lbw.safetensors" and loader["strength_model"] == 0.7
    baked = load_weights(r.baked)
    assert all(layout.block_of(n) in ("BASE", "OUT03", "OUT04") for n in baked.modules)
    assert any(n.startswith("IN01") and "polluting" in n for n in r.notes)
    assert any("OUT03, OUT04" in n and "core block" in n for n in r.notes)
    prompt, workflow = write_outputs(r, tmp_path, "tiny_a")
    assert prompt.read_text().strip() == r.prompt
    assert json.loads(workflow.read_text())["10"]["class_type"] == "LoraLoader"


def test_pick_goes_through_the_doctor_and_rescue_fixes_the_sum(tiny_a, tiny_b, tmp_path):
    from loratui.lora.pick import Pick, build, rescue

    layout, in_use = _in_use(tiny_a)
    high = build(Pick(tiny_a, 1.0), layout, in_use)
    assert [d.code for d in high.problems] == ["PR101"]
    stacked = Pick(tiny_a, 0.8, "ALL", tiny_b, 0.7)
    r = build(stacked, layout, in_use)
    assert "PR102" in [d.code for d in r.problems]
    assert r.workflow["11"]["inputs"]["model"] == ["10", 0]  # the second LoRA is chained
    saved = rescue(stacked)
    assert saved.weight == 0.3 and saved.second_weight == 0.7
    assert build(saved, layout, in_use).problems == []


def test_rescue_checks_the_second_lora_is_of_the_same_kind(tiny_a, sd15_file, tmp_path):
    """P21 pairs a failed LoRA with one of the same kind: the family from the tensors and
    ss_* metadata, character vs style from the metadata, and "cannot tell" otherwise."""
    from safetensors.torch import load_file

    from loratui.lora.pick import same_kind
    from loratui.train.export import serialize

    def variant(name, meta, keep=lambda k: True):
        tensors = {k: v for k, v in load_file(str(sd15_file)).items() if keep(k)}
        path = tmp_path / name
        path.write_bytes(serialize(tensors, meta))
        return path

    char = variant("char.safetensors", {"ss_base_model_version": "sd_v1",
                                        "modelspec.description": "character LoRA trained"})
    style = variant("style.safetensors", {"ss_base_model_version": "sd_v1",
                                          "modelspec.description": "style LoRA trained"})
    char2 = variant("char2.safetensors", {"modelspec.description": "Character lora"})
    xl = variant("xl.safetensors", {"ss_base_model_version": "sdxl_base_v1-0",
                                    "modelspec.description": "character LoRA"},
                 keep=lambda k: k.startswith("lora_te_"))  # no telling tensors: metadata
    plain = variant("plain.safetensors", {}, keep=lambda k: k.startswith("lora_te_"))

    k = same_kind(char, char2)
    assert k.same is True and "both are SD1.5" in k.lines[0] and "character" in k.lines[0]
    k = same_kind(char, style)
    assert k.same is False and "character" in k.lines[0] and "style" in k.lines[0]
    k = same_kind(char, xl)
    assert k.same is False and "SDXL" in k.lines[0]
    k = same_kind(char, tiny_a)  # tiny_a's metadata names no kind
    assert k.same is None and "tiny_a.safetensors" in k.lines[-1]
    assert "cannot be told" in k.lines[-1]
    k = same_kind(char, plain)
    assert k.same is None and "cannot tell the model family of plain.safetensors" in k.lines[0]
    from loratui import i18n

    i18n.set_language("zh")   # the Test step shows them in the reader's language
    try:
        assert i18n.localized(same_kind(char, char2).lines[0]) == \
            "P21：两个都是 SD1.5 的 LoRA，也都是角色 LoRA"
        assert i18n.localized(same_kind(char, style).lines[0]).startswith(
            "P21：不是同一类 — char.safetensors 是角色 LoRA，style.safetensors 是画风 LoRA")
    finally:
        i18n.set_language(None)


def test_an_sdxl_pick_is_checked_and_written_for_an_sdxl_checkpoint(tmp_path):
    """The Test step on an SDXL LoRA: the workflow loads an SDXL checkpoint at 1024 px and
    the usage rules compare the LoRA with an SDXL base (no false family mismatch)."""
    from loratui.lora.block_layout import layout_for
    from loratui.lora.pick import Pick, build

    xl = layout_for("sdxl")
    lora = tmp_path / "hanfu_xl.safetensors"
    r = build(Pick(lora, 0.7), xl, list(xl.lora_blocks))
    assert r.workflow["4"]["inputs"]["ckpt_name"] == "sd_xl_base_1.0.safetensors"
    assert r.workflow["5"]["inputs"]["width"] == 1024
    assert "PR111" not in {d.code for d in r.findings}
    own = build(Pick(lora, 0.7), xl, list(xl.lora_blocks), checkpoint="noobai.safetensors")
    assert own.workflow["4"]["inputs"]["ckpt_name"] == "noobai.safetensors"
    # the same LoRA against an SD1.5 base is the mismatch PR111 names
    v15 = build(Pick(lora, 0.7), xl, list(xl.lora_blocks), family="sd15")
    assert "PR111" in {d.code for d in v15.findings}

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

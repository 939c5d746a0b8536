"""ComfyUI workflows (API and UI formats): the LoRA loader nodes and their strengths."""

from __future__ import annotations

import json
from pathlib import Path

from loratui.doctor.inputs import ReadError, read_text
from loratui.doctor.inputs.prompt import LoraUse, PromptData, parse_prompt
from loratui.i18n import N_, Message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LORA_NODES = ("LoraLoader", "LoraLoaderModelOnly", "LoraLoader|pysssss",
              "LoraLoaderModelOnly|pysssss", "CR Load LoRA", "Lora Loader Stack (rgthree)")
TEXT_NODES = ("CLIPTextEncode", "CLIPTextEncodeSDXL", "CLIPTextEncodeSDXLRefiner")
MUTED_MODES = (2, 4)  # muted, bypassed


class Workflow:
    def __init__(self, fmt: str) -> None:
        self.format = fmt  # "api" / "ui"
        self.uses: list[LoraUse] = []
        self.prompts: list[tuple[str, str]] = []  # (node id, text)
        self.checkpoints: list[str] = []
        self.prompt_data: list[tuple[str, PromptData]] = []


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None  # a link ([node, slot]) from another node


def parse_workflow(data: Any) -> Workflow:
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict) and \
            "nodes" not in data:
        data = data["prompt"]
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        return _parse_ui(data)
    if isinstance(data, dict):
        return _parse_api(data)
    raise ReadError(Message(N_("not a ComfyUI workflow (expected a JSON object)")))


def _parse_api(data: dict[str, Any]) -> Workflow:
    wf = Workflow("api")
    for node_id, node in data.items():
        if not isinstance(node, dict):
            continue
        ctype = str(node.get("class_type", ""))
        inputs = node.get("inputs", {}) if isinstance(node.get("inputs"), dict) else {}
        if ctype in LORA_NODES or (ctype.startswith("LoraLoader") and "lora_name" in inputs):
            sm = _num(inputs.get("strength_model", 1.0))
            sc = _num(inputs.get("strength_clip", sm if sm is not None else 1.0)) \
                if "ModelOnly" not in ctype else 0.0
            wf.uses.append(LoraUse(str(inputs.get("lora_name", "?")), te=sc, unet=sm,
                                   source="comfy", node=str(node_id)))
        elif ctype in TEXT_NODES:
            for key in ("text", "text_g", "text_l"):
                if isinstance(inputs.get(key), str):
                    wf.prompts.append((str(node_id), inputs[key]))
        elif "ckpt_name" in inputs and isinstance(inputs["ckpt_name"], str):
            wf.checkpoints.append(inputs["ckpt_name"])
    return wf


def _parse_ui(data: dict[str, Any]) -> Workflow:
    wf = Workflow("ui")
    for node in data.get("nodes", []):
        if not isinstance(node, dict) or node.get("mode") in MUTED_MODES:
            continue
        ntype = str(node.get("type", ""))
        widgets = node.get("widgets_values") or []
        node_id = str(node.get("id", "?"))
        if not isinstance(widgets, list):
            continue
        if ntype in LORA_NODES or ntype.startswith("LoraLoader"):
            if not widgets:
                continue
            sm = _num(widgets[1]) if len(widgets) > 1 else 1.0
            sc = (_num(widgets[2]) if len(widgets) > 2 else sm) if "ModelOnly" not in ntype \
                else 0.0
            wf.uses.append(LoraUse(str(widgets[0]), te=sc, unet=sm, source="comfy",
                                   node=node_id))
        elif ntype in TEXT_NODES:
            for w in widgets:
                if isinstance(w, str):
                    wf.prompts.append((node_id, w))
        elif ntype.startswith("CheckpointLoader") and widgets and isinstance(widgets[0], str):
            wf.checkpoints.append(widgets[0])
    return wf


def load_workflow(path: Path) -> Workflow:
    try:
        data = json.loads(read_text(path))
    except ValueError as exc:
        raise ReadError(Message(N_("not valid JSON: {error}"), error=str(exc))) from None
    wf = parse_workflow(data)
    wf.prompt_data = [(nid, parse_prompt(text)) for nid, text in wf.prompts]
    return wf

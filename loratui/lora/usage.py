"""What a tool or the Test step suggests goes through the doctor's prompt rules (P17–P22):
the suggestion is written as the A1111 prompt a user would paste, parsed by the doctor's
prompt parser and checked by the same usage rules, so nothing loratui suggests is
something `loratui doctor --prompt` would flag without saying so."""

from __future__ import annotations

import re
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from loratui.doctor.model import Diagnostic


@dataclass(frozen=True)
class Use:
    name: str
    weight: float
    lbw: str | None = None


def lora_tag(use: Use) -> str:
    """`<lora:name:w>` or `<lora:name:w:lbw=…>` (the extension's named form, P22)."""
    name = tag_name(use.name)
    weight = f"{round(use.weight, 3):g}"
    return f"<lora:{name}:{weight}:lbw={use.lbw}>" if use.lbw and use.lbw != "ALL" \
        else f"<lora:{name}:{weight}>"


def tag_name(name: str) -> str:
    """A1111 finds a LoRA by file stem; `:` and `>` would break the tag."""
    return re.sub(r"[:<>]", "_", name)


def prompt_for(uses: list[Use], text: str = "") -> str:
    return " ".join([*(lora_tag(u) for u in uses), text]).strip()


def check_uses(uses: list[Use], text: str = "", base: str = "sd15") -> list[Diagnostic]:
    """The doctor's usage findings (PR1xx) for these LoRAs in one prompt."""
    from loratui.doctor.engine import Options, diagnose
    from loratui.doctor.inputs.prompt import parse_prompt

    prompt = prompt_for(uses, text)
    parsed = parse_prompt(prompt)
    if len(parsed.uses) != len(uses):  # the tag we wrote must read back as written
        raise ValueError(f"the prompt parser read {len(parsed.uses)} LoRA tags in {prompt!r}")
    diags, _ = diagnose(prompts=[prompt], options=Options(base=base, probe_gpu=False))
    return [d for d in diags if d.code.startswith("PR")]

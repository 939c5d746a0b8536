"""A1111 prompt syntax: `<lora:name:te:unet:dyn>`, `te=` / `unet=` / `dyn=`, and the
LoRA Block Weight extension's `lbw=` / `lbwe=` / `start=` / `stop=` (FORMATS.md §3)."""

from __future__ import annotations

import re

from loratui.doctor.registry import Text
from loratui.doctor.util import LazyRe
from loratui.i18n import N_

LBW_LENGTHS = (12, 17, 20, 26, 61)
LBW_PRESETS = {
    "NONE": 17, "ALL": 17, "INS": 17, "IND": 17, "INALL": 17, "MIDD": 17, "OUTD": 17,
    "OUTS": 17, "OUTALL": 17, "ALL0.5": 17, "FLUXALL": 61,
}
LBWE_PRESETS = ("ATTNDEEPON", "ATTNDEEPOFF", "PROJDEEPOFF", "XYZ")
KNOWN_NAMED = ("te", "unet", "dyn", "lbw", "w", "lbwe", "start", "stop", "step", "x")
LBW_TOKEN_RE = re.compile(r"^\s*(?:-?\d+(?:\.\d*)?|-?\.\d+|R|U|X(?:[+-](?:\d+(?:\.\d*)?)?)?)\s*$")
TAG_RE = re.compile(r"<(lora|lyco|hypernet):", re.I)


class LoraUse:
    """One LoRA applied with a weight (from a prompt tag or a ComfyUI node)."""

    __slots__ = ("dyn", "lbw", "lbwe", "name", "named", "node", "part", "positional",
                 "problems", "raw", "source", "span", "te", "unet")

    def __init__(self, name: str, *, te: float | None = 1.0, unet: float | None = 1.0,
                 span: tuple[int, int] | None = None, raw: str = "", source: str = "prompt",
                 node: str | None = None) -> None:
        self.name = name
        self.te = te
        self.unet = unet
        self.dyn: int | None = None
        self.lbw: str | None = None
        self.lbwe: str | None = None
        self.named: dict[str, str] = {}
        self.positional: list[str] = []
        self.span = span
        self.raw = raw
        self.source = source
        self.node = node
        # Where an A1111 infotext holds the tag: "prompt", "negative" or "parameters"
        # (ADetailer's own prompt, applied in its separate pass).
        self.part = "prompt"
        self.problems: list[tuple[str, str]] = []  # (kind, message)

    @property
    def weight(self) -> float | None:
        """The strength that matters most for the guide's rules: the UNet multiplier."""
        return self.unet if self.unet is not None else self.te


class PromptData:
    def __init__(self, text: str) -> None:
        self.text = text
        self.uses: list[LoraUse] = []
        self.problems: list[tuple[str, str, tuple[int, int]]] = []  # (kind, message, span)


def _float(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


# The parts of an A1111 infotext (PNG info) after its prompt.
NEGATIVE_RE = LazyRe(r"^[^\n<]{0,40}?Negative prompt:", re.M)
PARAMETERS_RE = LazyRe(r"^[^\n<]{0,40}?Steps: \d+, ", re.M)


def _part_starts(text: str) -> tuple[int, int]:
    params = PARAMETERS_RE.search(text)
    end = params.start() if params else len(text)
    neg = NEGATIVE_RE.search(text, 0, end)
    return (neg.start() if neg else end), end


def parse_prompt(text: str) -> PromptData:
    data = PromptData(text)
    negative_at, parameters_at = _part_starts(text)
    for m in TAG_RE.finditer(text):
        start = m.start()
        end = text.find(">", m.end())
        nxt = text.find("<", m.end())
        if end == -1 or (nxt != -1 and nxt < end):
            data.problems.append(("unclosed", Text(N_("`{tag}` has no closing `>`: the tag "
                                                      "is treated as plain prompt text"),
                                                   tag=text[start:start + 40]),
                                  (start, len(text) if end == -1 else nxt)))
            continue
        inner = text[m.end():end]
        if m.group(1).lower() == "hypernet":
            continue
        use = parse_tag(inner, (start, end + 1), text[start:end + 1])
        use.part = "parameters" if start >= parameters_at else \
            "negative" if start >= negative_at else "prompt"
        data.uses.append(use)
    return data


def parse_tag(inner: str, span: tuple[int, int], raw: str) -> LoraUse:
    """`inner` is what follows `<lora:` up to `>` — A1111 ≥1.5 semantics."""
    items = inner.split(":")
    name = items[0].strip().strip('"')
    use = LoraUse(name, span=span, raw=raw)
    if not name:
        use.problems.append(("syntax", Text(N_("the tag has no LoRA name"))))
    for item in items[1:]:
        parts = item.split("=", 2)
        if len(parts) == 2:
            key, value = parts[0].strip(), parts[1].strip()
            use.named[key] = value
        else:
            use.positional.append(item.strip())
    pos = use.positional
    te = unet = None
    if pos:
        te = _float(pos[0])
        if te is None:
            _bad_positional(use, pos[0], 1)
    if len(pos) > 1:
        unet = _float(pos[1])
        if unet is None:
            _bad_positional(use, pos[1], 2)
    if len(pos) > 2 and _float(pos[2]) is None:
        _bad_positional(use, pos[2], 3)
    elif len(pos) > 2:
        use.dyn = int(float(pos[2]))
    use.te = te if te is not None else (1.0 if not pos else None)
    use.unet = unet if unet is not None else use.te
    for key, value in use.named.items():
        low = key.lower()
        if key in ("te", "unet"):
            v = _float(value)
            if v is None:
                use.problems.append(("syntax", Text(N_("`{item}` is not a number: A1111 raises "
                                                       "\"could not convert string to "
                                                       "float\""), item=f"{key}={value}")))
            elif key == "te":
                use.te = v
                if "unet" not in use.named and len(pos) < 2:
                    use.unet = v if not pos else use.unet
            else:
                use.unet = v
        elif key == "dyn":
            if _float(value) is None:
                use.problems.append(("syntax", Text(N_("`{item}` is not a number"),
                                                    item=f"dyn={value}")))
            else:
                use.dyn = int(float(value))
        elif key in ("lbw", "w"):
            use.lbw = value
        elif key == "lbwe":
            use.lbwe = value
        elif "lbw" in low or "block_weight" in low or "lora_block_weight" in low:
            use.problems.append(("lbw-colon", Text(N_(
                "`{item}` is not its own `:`-separated item, so the block-weight extension "
                "ignores it (\"without this colon the plugin ignores it\"); write "
                "`:lbw={value}`"), item=f"{key}={value}", value=value)))
        elif key not in KNOWN_NAMED:
            use.problems.append(("unknown-arg", Text(N_(
                "`{key}=` is not an argument A1111 or the block-weight extension knows; it "
                "is ignored"), key=key)))
    return use


def _bad_positional(use: LoraUse, item: str, index: int) -> None:
    low = item.lower()
    if "lbw" in low or "block_weight" in low:
        use.problems.append(("lbw-colon", Text(N_(
            "`{item}` runs the block weights into another value: without its own colon "
            "(`:lbw=...`) the extension ignores it, and A1111 cannot read the weight"),
            item=item)))
    elif re.fullmatch(r"[A-Za-z][\w.]*", item.strip()) or "," in item:
        use.problems.append(("lbw-legacy", Text(N_(
            "`{item}` as positional argument {n} is the old block-weight syntax: A1111 ≥ 1.5 "
            "raises \"could not convert string to float\"; write `:lbw={value}`"),
            item=item, n=index + 1, value=item.strip())))
    else:
        use.problems.append(("syntax", Text(N_("`{item}` is not a number: A1111 raises "
                                               "\"could not convert string to float\""),
                                            item=item)))


def check_lbw(value: str) -> tuple[str, Text] | None:
    """(kind, message) when an `lbw=` value is wrong, else None."""
    v = value.strip().strip('"')
    if not v:
        return ("lbw-vector", Text(N_("`lbw=` is empty")))
    if "," not in v:
        if v in LBW_PRESETS:
            return None
        if v.upper() in LBW_PRESETS:
            return ("lbw-preset", Text(N_("preset `{preset}` is spelled in the wrong case: "
                                          "presets are case-sensitive, use `{upper}`"),
                                       preset=v, upper=v.upper()))
        if re.fullmatch(r"(IN|OUT|M|MID|BASE)\d*", v.upper()):
            return None  # single-block shorthand, e.g. lbw=IN02 (README example)
        return ("lbw-preset", Text(N_("`{preset}` is not a built-in block-weight preset "
                                      "({presets}); unless it is defined in your "
                                      "lbwpresets.txt the weights stay all 1"),
                                   preset=v, presets=", ".join(sorted(LBW_PRESETS))))
    tokens = v.split(",")
    bad = [t for t in tokens if not LBW_TOKEN_RE.match(t)]
    if bad:
        return ("lbw-vector", Text(N_("block-weight values {values} are not numbers (or R / "
                                      "U / X, X+d)"),
                                   values=", ".join(repr(b) for b in bad[:3])))
    if len(tokens) not in LBW_LENGTHS:
        return ("lbw-vector", Text(N_("the block-weight vector has {n} values; the extension "
                                      "only accepts 12, 17 (SD1.5 LoRA), 20, 26 (SD1.5 "
                                      "LyCORIS) or 61 and silently ignores any other length"),
                                   n=len(tokens)))
    return None

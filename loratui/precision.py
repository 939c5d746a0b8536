"""Which mixed precision a GPU trains in: one answer for the presets and the doctor.

- bf16 needs compute capability 8.0 (Ampere) or newer; T4, V100, Pascal and Turing stop at
  start-up with "bf16 mixed precision requires ... a supported device" (FAILURES C13).
- Turing cards without tensor cores (GTX 16xx, MX450/550, T400–T1200) produce NaN latents and
  empty LoRAs in fp16 (FAILURES E06): they train in fp32 (`mixed_precision = "no"`).
- Where the GPU is not known (a size typed by hand), bf16 is not offered: fp16 runs on every
  card that has tensor cores.
"""

from __future__ import annotations

import re

from loratui.i18n import N_, Message

# Turing without tensor cores (TU116 / TU117): fp16 gives NaN in training.
FP16_UNRELIABLE_RE = re.compile(
    r"\bGTX\s*16\d\d|\bMX\s*[45]50\b|(?:^|\s)T(?:400|600|1000|1200)\b", re.I)
BF16_MIN_CC = (8, 0)


def fp16_unreliable(gpu_name: str | None) -> bool:
    """True for the GPUs whose fp16 training gives NaN (GTX 1650 / 1660 and their kin)."""
    return bool(gpu_name) and FP16_UNRELIABLE_RE.search(gpu_name) is not None


def bf16_supported(cc: tuple[int, int] | None) -> bool | None:
    """Whether a GPU of compute capability `cc` has bf16 (None: not known)."""
    return None if cc is None else tuple(cc) >= BF16_MIN_CC


def precision_for(preferred: str, gpu_name: str | None = None,
                  cc: tuple[int, int] | None = None) -> tuple[str, str]:
    """The mixed precision to train in on this GPU, and why it differs from `preferred`
    ("" when it does not)."""
    if preferred in ("fp16", "bf16") and fp16_unreliable(gpu_name):
        return "no", Message(N_("fp32 on {gpu}: GTX 16xx-class cards give NaN in fp16 (E06)"),
                             gpu=gpu_name)
    if preferred == "bf16" and not bf16_supported(cc):
        if cc is None:
            return "fp16", Message(N_("fp16: bf16 only once the GPU is known to be Ampere (8.0) "
                                      "or newer"))
        version = f"{cc[0]}.{cc[1]}"
        where = Message(N_("{gpu} is {version}"), gpu=gpu_name, version=version) if gpu_name \
            else Message(N_("this GPU is {version}"), version=version)
        return "fp16", Message(N_("fp16: bf16 needs compute capability 8.0 or newer ({where})"),
                               where=where)
    return preferred, ""

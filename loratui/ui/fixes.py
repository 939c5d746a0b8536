"""Fix hints in the wizard's words: the keys that do the fix here, not CLI commands.

The core's fix texts name `loratui dataset …` commands, which is right on the command
line. Inside the wizard the same fix is one key away; this table says which.
"""

from __future__ import annotations

PREPARE = "ctrl+o on the Dataset step (Prepare copy)"

WIZARD_FIXES: dict[str, str] = {
    "not-512": f"SD1.5 trains at 512×512: {PREPARE} crops, or buckets, without distorting.",
    "extreme-aspect": f"Centre-cropping keeps only the middle: {PREPARE} with mode bucket, "
                      "or crop it by hand.",
    "alpha": "Trainers drop transparency and learn the background colour: "
             f"{PREPARE} flattens it onto a background you pick.",
    "caption-missing": "Caption it on the Captions step: ctrl+o auto-captions with BLIP, "
                       "then read and fix each caption by hand.",
    "caption-empty": "Write a caption on the Captions step, or press ctrl+o there (BLIP, "
                     "'Also replace empty captions').",
    "caption-no-trigger": "Without the trigger word the model 'does not recognise your "
                          "LoRA': ctrl+o on the Trigger step puts it first in every caption.",
    "trigger-not-first": "Put the trigger word first: ctrl+o on the Trigger step does it "
                         "(keep_tokens keeps it there when tags are shuffled).",
    "caption-other-extension": "Captions exist with another extension than the config's: "
                               "rename them, or set dataset.caption_extension on the "
                               "Parameters step.",
}


def wizard_fix(kind: str, fix: str) -> str:
    """The fix for a dataset finding kind, in the wizard's keys when it has one."""
    return WIZARD_FIXES.get(kind, fix)


def wizard_fix_for_code(code: str) -> str:
    """The same for a doctor code (DS113) that reports a dataset finding kind."""
    from loratui.dataset.report import DOCTOR_CODES

    kind = next((k for k, c in DOCTOR_CODES.items() if c == code), None)
    return WIZARD_FIXES.get(kind, "") if kind else ""

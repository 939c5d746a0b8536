"""Fix hints in the wizard's words: the keys that do the fix here, not CLI commands.

The core's fix texts name `loratui dataset …` commands, which is right on the command
line. Inside the wizard the same fix is one key away; this table says which.
"""

from __future__ import annotations

from loratui.i18n import N_, _

WIZARD_FIXES: dict[str, str] = {
    "not-512": N_("Not the training resolution (dataset.resolution on the Parameters "
                  "step): ctrl+o on the Dataset step (Prepare copy) crops, or buckets, "
                  "without distorting."),
    "extreme-aspect": N_("Centre-cropping keeps only the middle: ctrl+o on the Dataset step "
                         "(Prepare copy) with mode bucket, or crop it by hand."),
    "alpha": N_("Trainers drop transparency and learn the background colour: ctrl+o on the "
                "Dataset step (Prepare copy) flattens it onto a background you pick."),
    "caption-missing": N_("Caption it on the Captions step: ctrl+o auto-captions with BLIP, "
                          "then read and fix each caption by hand."),
    "caption-empty": N_("Write a caption on the Captions step, or press ctrl+o there (BLIP, "
                        "'Also replace empty captions')."),
    "caption-no-trigger": N_("Without the trigger word the model 'does not recognise your "
                             "LoRA': ctrl+o on the Trigger step puts it first in every "
                             "caption."),
    "trigger-not-first": N_("Put the trigger word first: ctrl+o on the Trigger step does it "
                            "(keep_tokens keeps it there when tags are shuffled)."),
    "caption-other-extension": N_("Captions exist with another extension than the config's: "
                                  "rename them, or set dataset.caption_extension on the "
                                  "Parameters step."),
}


def wizard_fix(kind: str, fix: str) -> str:
    """The fix for a dataset finding kind, in the wizard's keys when it has one."""
    return _(WIZARD_FIXES[kind]) if kind in WIZARD_FIXES else _(fix)


def wizard_fix_for_code(code: str) -> str:
    """The same for a doctor code (DS113) that reports a dataset finding kind."""
    from loratui.dataset.report import DOCTOR_CODES

    kind = next((k for k, c in DOCTOR_CODES.items() if c == code), None)
    return _(WIZARD_FIXES[kind]) if kind in WIZARD_FIXES else ""

"""Dataset core: scan a folder into a typed report, prepare a training copy, caption,
check the trigger word. No UI; torch/transformers are imported only by the BLIP/CLIP
functions that need them.

Public API:
    scan(root, ScanOptions(...)) -> DatasetReport      scan_config(cfg) -> DatasetReport
    prepare(src, out, PrepareOptions(...)) -> PrepareResult
    check_trigger(word, ...) -> TriggerReport          insert_trigger(folder, word, ...)
    caption_folder(folder, model=PATH, ...) -> CaptionResult
    edit_captions(folder, edits, ...)                  clip_agreement(folder, model=PATH)
"""

from .report import KINDS, DatasetReport, Finding, ImageRecord, Subset, Totals
from .scanner import ScanOptions, scan, scan_config

__all__ = [
    "KINDS",
    "DatasetReport",
    "Finding",
    "ImageRecord",
    "ScanOptions",
    "Subset",
    "Totals",
    "scan",
    "scan_config",
]

"""Reusable widgets of the wizard."""

from .footer import Footer
from .path_input import PathInput, PathSuggester
from .size_note import SizeNote
from .steps import STEPS, StepIndicator, step_label

__all__ = ["STEPS", "Footer", "PathInput", "PathSuggester", "SizeNote", "StepIndicator", "step_label"]

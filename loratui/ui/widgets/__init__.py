"""Reusable widgets of the wizard."""

from .footer import Footer
from .path_input import PathInput, PathSuggester
from .steps import STEPS, StepIndicator, step_label

__all__ = ["STEPS", "Footer", "PathInput", "PathSuggester", "StepIndicator", "step_label"]

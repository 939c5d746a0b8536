"""Reusable widgets of the wizard."""

from .path_input import PathSuggester
from .steps import STEPS, StepIndicator

__all__ = ["STEPS", "PathSuggester", "StepIndicator"]

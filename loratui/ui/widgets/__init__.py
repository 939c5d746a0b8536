"""Reusable widgets of the wizard."""

from .path_input import PathInput, PathSuggester
from .steps import STEPS, StepIndicator

__all__ = ["STEPS", "PathInput", "PathSuggester", "StepIndicator"]

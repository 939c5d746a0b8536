"""One screen per wizard step, plus the Doctor (reachable from every step)."""

from .captions import CaptionsScreen
from .dataset import DatasetScreen
from .export import ExportScreen
from .parameters import ParametersScreen
from .start import StartScreen
from .test import TestScreen
from .train import TrainScreen
from .trigger import TriggerScreen

SCREENS = {
    "start": StartScreen,
    "dataset": DatasetScreen,
    "captions": CaptionsScreen,
    "trigger": TriggerScreen,
    "parameters": ParametersScreen,
    "train": TrainScreen,
    "export": ExportScreen,
    "test": TestScreen,
}

__all__ = ["SCREENS"]

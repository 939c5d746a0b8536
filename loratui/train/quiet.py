"""Silence the ML libraries' progress bars and warnings (they would flood train.log / the UI)."""

from __future__ import annotations

import os
import warnings

_QUIET_ENV = {
    "HF_HUB_OFFLINE": "1",  # never reach the hub: models are local paths
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "DIFFUSERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}


def set_quiet_env() -> None:
    """Set before the libraries are imported (they read these at import time)."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)


def quiet_libraries() -> None:
    """Call after importing diffusers / transformers."""
    set_quiet_env()
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*torchvision.*")
    try:
        from diffusers.utils import logging as dlog

        dlog.disable_progress_bar()
        dlog.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass
    try:
        from transformers.utils import logging as tlog

        tlog.disable_progress_bar()
        tlog.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass

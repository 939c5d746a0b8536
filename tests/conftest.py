"""Shared test set-up: offline, quiet ML libraries, fixtures folder."""

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


FIXTURES = Path(__file__).resolve().parent / "fixtures"  # tests use Path(__file__) likewise

"""loratui.gpustats: NVML sampling never raises; what the Train step shows."""

from __future__ import annotations

import pytest

from loratui.gpustats import GpuSampler, GpuUsage


def test_usage_summary() -> None:
    u = GpuUsage(0, "RTX 3060", 5 * 2**30, 12 * 2**30, 87, 71)
    assert u.summary() == "5.0/12.0 GB 87% 71°C"
    assert GpuUsage(0, "x", 0, 2**30, None, None).summary() == "0.0/1.0 GB"


def test_sampler_without_a_driver_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    pynvml = pytest.importorskip("pynvml")

    def no_driver() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", no_driver)
    sampler = GpuSampler()
    assert not sampler.available
    assert "no NVIDIA driver" in sampler.reason
    assert sampler.sample() is None
    sampler.close()

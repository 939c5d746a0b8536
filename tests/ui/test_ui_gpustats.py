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


def test_the_memory_a_run_holds_is_found_by_its_pid_and_its_children(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`accelerate launch` (the pid a log or state.json names) starts the process that holds
    the GPU memory: the child is found on its GPU; other processes are not counted. NVML
    stands in for a driver here (none on the test machine); the processes are real."""
    import subprocess
    import sys
    from types import SimpleNamespace

    pynvml = pytest.importorskip("pynvml")
    from loratui.gpustats import process_tree

    code = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', "
            "'import time; time.sleep(60)']); print(p.pid, flush=True); time.sleep(60)")
    launcher = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(launcher.stdout.readline())
        assert process_tree(launcher.pid) == {launcher.pid, child}
        running = {0: [SimpleNamespace(pid=4242, usedGpuMemory=2**30)],
                   1: [SimpleNamespace(pid=child, usedGpuMemory=10 * 2**30)]}
        monkeypatch.setattr(pynvml, "nvmlInit", lambda: None)
        monkeypatch.setattr(pynvml, "nvmlShutdown", lambda: None)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: 2)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetHandleByIndex", lambda i: i)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetComputeRunningProcesses",
                            lambda h: running[h])
        sampler = GpuSampler()
        held = sampler.process_memory(launcher.pid)
        assert [(h.pid, h.index) for h in held] == [(child, 1)]
        assert held[0].summary() == f"pid {child} 10.0 GB on GPU 1"
        sampler.use(held[0].index)
        assert sampler.index == 1
        assert sampler.process_memory(999_999_999) == []  # no such process: nothing, no error
        sampler.close()
    finally:
        import os
        import signal

        if child is not None:
            os.kill(child, signal.SIGKILL)
        launcher.kill()
        launcher.wait()

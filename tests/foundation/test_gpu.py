import types

import pytest

from loratui import gpu


def test_no_gpu_never_raises_and_says_why(monkeypatch):
    monkeypatch.delenv("LORATUI_FAKE_GPU", raising=False)
    report = gpu.detect(allow_torch=False)
    if report.gpus:
        pytest.skip("this machine has a GPU")
    assert report.best is None
    assert "no GPU" in report.summary() and report.reason


def test_fake_gpu_env(monkeypatch):
    monkeypatch.setenv("LORATUI_FAKE_GPU", "RTX 3070:8")
    report = gpu.detect()
    assert report.best.name == "RTX 3070" and round(report.best.total_gb) == 8


def test_nvml_details_and_leftover_processes(monkeypatch):
    """Drive detect_nvml through a stand-in pynvml module shaped like nvidia-ml-py's."""

    class NVMLError(Exception):
        pass

    proc = types.SimpleNamespace(pid=4242, usedGpuMemory=3 * gpu.GIB)
    fake = types.SimpleNamespace(
        NVMLError=NVMLError,
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: None,
        nvmlSystemGetDriverVersion=lambda: b"550.54",
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda i: object(),
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(total=8 * gpu.GIB,
                                                                free=5 * gpu.GIB),
        nvmlDeviceGetCudaComputeCapability=lambda h: (8, 6),
        nvmlDeviceGetName=lambda h: "NVIDIA GeForce RTX 3070",
        nvmlDeviceGetComputeRunningProcesses=lambda h: [proc],
        nvmlDeviceGetGraphicsRunningProcesses=lambda h: [],
    )
    monkeypatch.setitem(__import__("sys").modules, "pynvml", fake)
    report = gpu.detect_nvml()
    g = report.best
    assert g.name == "NVIDIA GeForce RTX 3070" and g.driver == "550.54"
    assert g.compute_capability == (8, 6) and g.supports_bf16
    assert g.free_gb == pytest.approx(5)
    assert [(p.pid, p.used_bytes) for p in g.processes] == [(4242, 3 * gpu.GIB)]
    assert "RTX 3070" in report.summary()


def test_nvml_library_missing(monkeypatch):
    class NVMLError(Exception):
        pass

    def boom():
        raise NVMLError("NVML Shared Library Not Found")

    fake = types.SimpleNamespace(NVMLError=NVMLError, nvmlInit=boom)
    monkeypatch.setitem(__import__("sys").modules, "pynvml", fake)
    report = gpu.detect_nvml()
    assert report.gpus == [] and "Library Not Found" in report.reason

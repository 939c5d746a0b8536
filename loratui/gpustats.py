"""Live GPU usage (memory, utilisation, temperature) through NVML, for run monitors.

`GpuSampler().sample()` returns None when NVML (nvidia-ml-py) or a driver is missing;
it never raises. Cheap enough to call once a second.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuUsage:
    index: int
    name: str
    used_bytes: int
    total_bytes: int
    utilisation: int | None  # percent
    temperature: int | None  # °C

    @property
    def used_gb(self) -> float:
        return self.used_bytes / 1024**3

    @property
    def total_gb(self) -> float:
        return self.total_bytes / 1024**3

    def summary(self) -> str:
        parts = [f"{self.used_gb:.1f}/{self.total_gb:.1f} GB"]
        if self.utilisation is not None:
            parts.append(f"{self.utilisation}%")
        if self.temperature is not None:
            parts.append(f"{self.temperature}°C")
        return " ".join(parts)


class GpuSampler:
    """Holds an NVML session open between samples; `close()` ends it."""

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self._nvml = None
        self._handle = None
        self.reason = ""
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        except ImportError:
            self.reason = "nvidia-ml-py is not installed"
        except Exception as exc:  # NVMLError subclasses: no driver, no such GPU
            self.reason = "no NVIDIA driver" if "Library" in str(exc) else f"NVML: {exc}"
            self.close()

    @property
    def available(self) -> bool:
        return self._handle is not None

    def sample(self) -> GpuUsage | None:
        if self._handle is None or self._nvml is None:
            return None
        nv, h = self._nvml, self._handle
        try:
            mem = nv.nvmlDeviceGetMemoryInfo(h)
            name = nv.nvmlDeviceGetName(h)
            name = name.decode() if isinstance(name, bytes) else str(name)
        except Exception as exc:
            self.reason = f"NVML: {exc}"
            return None
        try:
            util = int(nv.nvmlDeviceGetUtilizationRates(h).gpu)
        except Exception:
            util = None
        try:
            temp = int(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
        except Exception:
            temp = None
        return GpuUsage(self.index, name, int(mem.used), int(mem.total), util, temp)

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
        self._nvml = self._handle = None


def process_gpu_memory(pid: int, nvml=None) -> list[tuple[int, int]]:
    """(GPU index, bytes) held by process `pid` and its children (a launcher's training
    processes), through NVML; [] when NVML, a driver or the process is missing."""
    try:
        import psutil

        proc = psutil.Process(pid)
        pids = {pid, *(c.pid for c in proc.children(recursive=True))}
    except Exception:
        pids = {pid}
    try:
        if nvml is None:
            import pynvml as nvml

            nvml.nvmlInit()
        out = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            held = sum(int(p.usedGpuMemory or 0)
                       for p in nvml.nvmlDeviceGetComputeRunningProcesses(handle)
                       if p.pid in pids)
            if held:
                out.append((index, held))
        return out
    except Exception:  # no driver, no permission to list processes
        return []

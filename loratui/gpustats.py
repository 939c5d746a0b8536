"""Live GPU usage (memory, utilisation, temperature) through NVML, for run monitors.

`GpuSampler().sample()` returns None when NVML (nvidia-ml-py) or a driver is missing;
it never raises. Cheap enough to call once a second.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from loratui.i18n import N_, Message


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


@dataclass(frozen=True)
class ProcessMemory:
    """GPU memory a run's process (or one of its children) holds, as NVML reports it."""
    pid: int
    index: int  # the GPU
    used_bytes: int | None  # None: NVML does not say (Windows WDDM, some containers)

    def summary(self) -> str:
        used = "" if self.used_bytes is None else f" {self.used_bytes / 1024**3:.1f} GB"
        return f"pid {self.pid}{used} on GPU {self.index}"


def process_tree(pid: int) -> set[int]:
    """`pid` and its descendants (an `accelerate launch` parent's trainers)."""
    pids = {pid}
    try:
        import psutil

        pids |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except Exception:  # gone, no access, no psutil: the pid alone
        pass
    return pids


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
            self.reason = Message(N_("nvidia-ml-py is not installed"))
        except Exception as exc:  # NVMLError subclasses: no driver, no such GPU
            self.reason = (Message(N_("no NVIDIA driver")) if "Library" in str(exc)
                           else f"NVML: {exc}")
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

    def process_memory(self, pid: int) -> list[ProcessMemory]:
        """Where the process `pid` (with its children) holds GPU memory, on every GPU.
        Empty when it holds none or NVML cannot see it (another PID namespace)."""
        if self._nvml is None:
            return []
        nv, pids, found = self._nvml, process_tree(pid), []
        try:
            count = nv.nvmlDeviceGetCount()
        except Exception:
            return []
        for index in range(count):
            try:
                handle = nv.nvmlDeviceGetHandleByIndex(index)
                procs = list(nv.nvmlDeviceGetComputeRunningProcesses(handle))
            except Exception:
                continue
            for proc in procs:
                if proc.pid in pids:
                    used = getattr(proc, "usedGpuMemory", None)
                    found.append(ProcessMemory(int(proc.pid), index,
                                               int(used) if isinstance(used, int) else None))
        return found

    def use(self, index: int) -> None:
        """Sample GPU `index` from now on (the one the followed run uses)."""
        if self._nvml is None or index == self.index:
            return
        try:
            self._handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
            self.index = index
        except Exception as exc:
            self.reason = f"NVML: {exc}"

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

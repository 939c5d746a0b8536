"""GPU detection: NVML first (cheap), `torch.cuda` as a lazy fallback, never raises.

Without a GPU the answer says so plainly (`GpuReport.gpus == []` with a reason).
Processes holding GPU memory are listed because a leftover notebook kernel is the
guide's most common out-of-memory cause (P32).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass, field

from loratui.i18n import N_, Message

GIB = 1024**3


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    name: str
    used_bytes: int | None


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    total_bytes: int
    free_bytes: int
    compute_capability: tuple[int, int] | None = None
    driver: str = ""
    processes: tuple[GpuProcess, ...] = ()
    source: str = "nvml"

    @property
    def total_gb(self) -> float:
        return self.total_bytes / GIB

    @property
    def free_gb(self) -> float:
        return self.free_bytes / GIB

    @property
    def supports_bf16(self) -> bool:
        return self.compute_capability is not None and self.compute_capability >= (8, 0)


@dataclass
class GpuReport:
    gpus: list[GpuInfo] = field(default_factory=list)
    reason: str = ""  # why there is no GPU, when there is none

    @property
    def best(self) -> GpuInfo | None:
        return max(self.gpus, key=lambda g: g.total_bytes, default=None)

    def to_dict(self) -> dict:
        return {"gpus": [asdict(g) for g in self.gpus], "reason": self.reason}

    def summary(self) -> str:
        if not self.gpus:
            return Message(N_("no GPU ({reason})"), reason=self.reason) if self.reason else \
                Message(N_("no GPU"))
        g = self.best
        assert g is not None
        return Message(N_("{name}, {total} GB ({free} GB free)"), name=g.name,
                       total=f"{g.total_gb:.1f}", free=f"{g.free_gb:.1f}")


def _decode(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _process_name(pid: int) -> str:
    try:
        import psutil

        return psutil.Process(pid).name()
    except Exception:  # gone, or no permission
        return "?"


def detect_nvml() -> GpuReport:
    try:
        import pynvml
    except ImportError:
        return GpuReport(reason=Message(N_("nvidia-ml-py is not installed")))
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return GpuReport(reason=Message(N_("NVIDIA driver not found ({error})"),
                                        error=_decode(exc)))
    try:
        driver = _decode(pynvml.nvmlSystemGetDriverVersion())
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            try:
                cc = tuple(pynvml.nvmlDeviceGetCudaComputeCapability(h))
            except pynvml.NVMLError:
                cc = None
            procs = []
            for getter in ("nvmlDeviceGetComputeRunningProcesses",
                           "nvmlDeviceGetGraphicsRunningProcesses"):
                try:
                    for p in getattr(pynvml, getter)(h):
                        used = getattr(p, "usedGpuMemory", None)
                        procs.append(GpuProcess(p.pid, _process_name(p.pid),
                                                used if isinstance(used, int) else None))
                except (pynvml.NVMLError, AttributeError):
                    pass
            gpus.append(GpuInfo(i, _decode(pynvml.nvmlDeviceGetName(h)), int(mem.total),
                                int(mem.free), cc, driver, tuple(procs)))
        return GpuReport(gpus=gpus, reason="" if gpus else Message(N_("NVML sees no GPU")))
    except pynvml.NVMLError as exc:
        return GpuReport(reason=Message(N_("NVML error: {error}"), error=_decode(exc)))
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()


def detect_torch() -> GpuReport:
    """Fallback through torch.cuda (imports torch: slow; only when NVML is missing)."""
    try:
        import torch
    except ImportError:
        return GpuReport(reason=Message(N_("neither NVML nor torch is available")))
    try:
        if not torch.cuda.is_available():
            return GpuReport(reason=Message(N_("torch sees no CUDA device")))
        gpus = []
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            props = torch.cuda.get_device_properties(i)
            gpus.append(GpuInfo(i, props.name, int(total), int(free),
                                (props.major, props.minor), "", (), "torch"))
        return GpuReport(gpus=gpus)
    except Exception as exc:  # broken driver, AssertionError on CPU builds...
        return GpuReport(reason=Message(N_("torch.cuda failed: {error}"), error=str(exc)))


def detect(*, allow_torch: bool = True) -> GpuReport:
    """Detect GPUs. `LORATUI_FAKE_GPU="NAME:GB"` or `"NAME:GB:CC"` (compute capability,
    e.g. `Tesla T4:16:7.5`; 8.6 when left out) simulates one (for demos and tests)."""
    fake = os.environ.get("LORATUI_FAKE_GPU")
    if fake:
        cc = (8, 6)
        head, _, last = fake.rpartition(":")
        if head.count(":") and "." in last:
            major, _, minor = last.partition(".")
            cc = (int(major), int(minor or 0))
            fake = head
        name, _, gb = fake.rpartition(":")
        total = int(float(gb) * GIB)
        return GpuReport(gpus=[GpuInfo(0, name or "Simulated GPU", total, total, cc,
                                       "simulated", (), "env")])
    report = detect_nvml()
    if report.gpus or not allow_torch:
        return report
    # NVML missing or broken: ask torch (costs the torch import, ~1.5 s).
    fallback = detect_torch()
    return fallback if fallback.gpus else report

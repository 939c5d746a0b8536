"""The wizard's presets follow the GPU's precision, as `loratui presets` and the doctor do."""

from __future__ import annotations

from textual.widgets import Select
from ui_helpers import fake_gpu

from loratui.gpu import GIB, GpuInfo, GpuReport
from loratui.ui.app import create_app


def gtx1660(gb: float = 6.0) -> GpuReport:
    total = int(gb * GIB)
    return GpuReport(gpus=[GpuInfo(0, "NVIDIA GeForce GTX 1660 SUPER", total, total, (7, 5),
                                   "550.54")])


async def test_gtx16_card_starts_and_stays_in_fp32(project) -> None:
    app = create_app(project, gpu=gtx1660(), step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.state.config.training.mixed_precision == "no"
        app.screen.query_one("#preset", Select).value = "sd15-6gb-style"  # picked by hand
        await pilot.pause()
        assert app.state.config.training.mixed_precision == "no"
        await pilot.press("ctrl+r")  # the recommended preset
        await pilot.pause()
        assert app.state.config.training.mixed_precision == "no"


async def test_bf16_only_on_a_card_that_has_it(project) -> None:
    titan = GpuReport(gpus=[GpuInfo(0, "NVIDIA TITAN RTX", 24 * GIB, 24 * GIB, (7, 5), "550")])
    app = create_app(project, gpu=titan, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.state.config.training.mixed_precision == "fp16"
    app = create_app(project, gpu=fake_gpu("NVIDIA GeForce RTX 4090", 24.0), step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.state.config.training.mixed_precision == "bf16"

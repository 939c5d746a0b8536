"""Helpers shared by the wizard tests (fake GPUs, widget text)."""

from __future__ import annotations

from loratui.gpu import GIB, GpuInfo, GpuReport
from loratui.i18n import N_, Message


def fake_gpu(name: str = "NVIDIA GeForce RTX 3060", gb: float = 12.0) -> GpuReport:
    total = int(gb * GIB)
    return GpuReport(gpus=[GpuInfo(0, name, total, total - GIB // 2, (8, 6), "550.54")])


NO_GPU = GpuReport(reason="NVIDIA driver not found")


class NoNvml:
    """A GPU monitor (loratui.gpustats.GpuSampler) on a machine without an NVIDIA driver."""

    available = False
    reason = Message(N_("no NVIDIA driver"))  # as GpuSampler says it

    def __init__(self, index: int = 0) -> None:
        pass

    def sample(self):
        return None

    def close(self) -> None:
        pass


def text(app, selector: str) -> str:
    """The rendered text of a Static on the active screen."""
    from textual.widgets import Static

    return str(app.screen.query_one(selector, Static).render())


def write_run(folder, *, steps: int = 50, max_steps: int = 100, state: str = "running",
              pid: int | None = None, start: float = 1_764_000_000.0, samples: int = 1):
    """A run folder in the trainer's layout (loratui.runs), written the way the trainer does:
    state.json, config.toml, metrics.jsonl (one row per step), events.jsonl, samples/*.png.
    """
    import json
    import math
    import os
    import socket
    from pathlib import Path

    from PIL import Image

    folder = Path(folder)
    (folder / "samples").mkdir(parents=True, exist_ok=True)
    (folder / "checkpoints").mkdir(exist_ok=True)
    (folder / "config.toml").write_text('[output]\nname = "demo"\n')
    st = {"state": state, "pid": pid or os.getpid(), "host": socket.gethostname(),
          "step": steps, "max_steps": max_steps, "epoch": 1, "epochs": 4,
          "started_at": "2025-11-24T16:00:00+00:00"}
    (folder / "state.json").write_text(json.dumps(st))
    with (folder / "metrics.jsonl").open("w") as fh:
        for i in range(1, steps + 1):
            loss = 0.2 + 0.1 * math.exp(-i / 30) + 0.03 * math.sin(i * 1.7)
            fh.write(json.dumps({"step": i, "epoch": 1 + i * 4 // max(1, max_steps),
                                 "loss": round(loss, 5), "lr": 1e-4,
                                 "time": start + i * 0.5}) + "\n")
    with (folder / "events.jsonl").open("w") as fh:
        fh.write(json.dumps({"time": "2025-11-24T16:00:00+00:00", "type": "started",
                             "message": f"{max_steps} steps"}) + "\n")
    for n in range(samples):
        img = Image.new("RGB", (64, 64), (40 + 60 * n, 120, 200))
        for x in range(64):
            img.putpixel((x, x), (255, 255, 255))
        img.save(folder / "samples" / f"e{n + 1:03d}-0.png")
    return folder


async def settle(pilot, *, timeout: float = 10.0) -> None:
    """Bring the screen to a steady state for a snapshot: background work done (the
    tokenizer, a scan, a check) and what it posted drawn, and every text cursor shown
    steadily. A blinking cursor's phase at the moment of the snapshot depends on how long
    that work took (slower when transformers is first imported, faster once an earlier
    test imported it), so a blinking cursor would make snapshots depend on test order."""
    import time

    from textual.widgets import Input, TextArea

    app = pilot.app
    deadline = time.monotonic() + timeout
    await pilot.pause(0.1)
    while time.monotonic() < deadline:
        busy = [w for w in app.workers if w.is_running and w.group not in FOLLOWERS]
        if not busy:
            await pilot.pause()
            if not any(w.is_running and w.group not in FOLLOWERS for w in app.workers):
                break
        await pilot.pause(0.05)
    for screen in app.screen_stack:
        for field in [*screen.query(Input), *screen.query(TextArea)]:
            field.cursor_blink = False
    await pilot.pause()
    await pilot.pause()


# Workers that run as long as the screen shows (following a run, sampling the GPU).
FOLLOWERS = {"follow", "gpu"}


async def paste(pilot, app, selector: str, text: str) -> None:
    """Focus an input, clear it, and paste `text` the way a terminal delivers a paste
    (bracketed paste → a Paste event), which is how users enter long paths."""
    from textual import events

    widget = app.screen.query_one(selector)
    widget.focus()
    await pilot.press("ctrl+u")
    widget.post_message(events.Paste(text))
    await pilot.pause()


def sd15_folder(root):
    """The smallest folder the Start step's check accepts as SD1.5 (diffusers layout: every
    part's folder, configs only where the check reads them, no weights)."""
    import json

    for part in ("unet", "vae", "scheduler", "text_encoder", "tokenizer"):
        (root / part).mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (root / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))
    return root


def ready_project(project, images: int = 3):
    """A project whose every step can be passed: an SD1.5-shaped model folder, a small
    captioned dataset and a loratui.toml naming both (the folder is made if need be)."""
    from PIL import Image

    from loratui.config import save_config
    from loratui.presets import choose

    project.mkdir(parents=True, exist_ok=True)
    model = sd15_folder(project / "model")
    data = project / "images"
    data.mkdir()
    for i in range(images):
        Image.new("RGB", (64, 64), (30 * i, 90, 160)).save(data / f"{i}.png")
        (data / f"{i}.txt").write_text(f"zq_girl_, red dress, pose {i}\n")
    cfg = choose(12.0).to_config()
    cfg.model.base = str(model)
    cfg.dataset.dir = str(data)
    cfg.dataset.trigger_word = "zq_girl_"
    save_config(cfg, project / "loratui.toml")
    return project


def recorded_screen(app):
    """A recording rich Console that has drawn the screen as the terminal shows it now."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False,
                      safe_box=False)
    console.print(app.screen._compositor.render_update(full=True,
                                                       screen_stack=app._background_screens))
    return console


def screen_lines(app) -> list[str]:
    """The terminal's text as the user sees it now, one string per row."""
    return recorded_screen(app).export_text().splitlines()


def columns(line: str, start: int, end: int) -> str:
    """The text in terminal columns [start, end) of a row: a Chinese character takes two
    columns, so a row's columns are not its string indices."""
    from rich.cells import get_character_cell_size

    cells: list[str] = []
    for ch in line:
        width = get_character_cell_size(ch)
        cells.append(ch)
        cells.extend([""] * (width - 1))
    return "".join(cells[start:end])


def cut_off(app) -> list[str]:
    """Texts of the screen's Static widgets that the user cannot read whole: cropped by a
    parent that cannot scroll, off the screen's edge, or wrapped into a too-small box."""
    from textual.scroll_view import ScrollView
    from textual.widgets import DataTable, Footer, ProgressBar, Static, Tab

    lines = screen_lines(app)
    screen = app.screen
    problems = []
    for footer in screen.query(Footer):
        if footer.virtual_size.width > footer.size.width:
            problems.append(f"footer: {footer.virtual_size.width} columns of keys in "
                            f"{footer.size.width}")
    for table in screen.query(DataTable):
        room = table.scrollable_content_region.width
        if table.display and room and table.virtual_size.width > room:
            problems.append(f"{table.id}: {table.virtual_size.width} columns wide in {room}")
    for widget in screen.query(Static):
        want = " ".join(getattr(widget, "plain_text", str(widget.render())).split())
        region = widget.region
        if not want or not widget.display or region.width == 0 or \
                any(isinstance(a, (ProgressBar, Tab)) for a in widget.ancestors):
            continue  # hidden (another tab), or a piece of Textual's own widgets
        seen, node, scrolls = region, widget.parent, False
        while node is not None and node is not screen:
            if node.is_scrollable and (node.allow_vertical_scroll or isinstance(node, ScrollView)):
                scrolls = True
            seen = seen.intersection(node.region)
            node = node.parent
        seen = seen.intersection(screen.region)
        if seen.size != region.size:
            if not scrolls:
                problems.append(f"{widget.id}: cropped to {seen.size} of {region.size}: {want}")
            continue  # partly scrolled out of view: the user can scroll to it
        shown = " ".join(" ".join(columns(line, region.x, region.right)
                                  for line in lines[region.y:region.bottom]).split())
        if want.replace(" ", "") not in shown.replace(" ", ""):  # a long path may fold
            problems.append(f"{widget.id}: {want!r} shows as {shown!r}")
    return problems


# How long a condition may take to come true before a test calls it a hang. Tests wait
# on conditions, never on a fixed figure: this bound is only there so that a hang ends,
# and is wide enough for a machine shared by many test runs.
HANG = 120.0


async def wait_for(pilot, predicate, timeout: float = HANG, what: str = "") -> None:
    """Let the app run until `predicate()` is true."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        await pilot.pause(0.05)

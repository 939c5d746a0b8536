"""Watching another trainer's run from the wizard: the Start step opens it, the Train
step's live view follows its log as it grows, the live doctor's findings pop up."""

from __future__ import annotations

import contextlib
import math

import pytest
from ui_helpers import NO_GPU, cut_off, screen_lines, settle, wait_for

from loratui.ui.app import create_app
from loratui.ui.widgets.loss_chart import LossChart
from tests.trainer_streams import sd_scripts, tqdm_line


def tqdm_bar(n: int, total: int, spi: float, avr_loss: str) -> str:
    """sd-scripts' progress line, as tqdm draws it (`\\r` before each redraw)."""
    return "\r" + tqdm_line("steps", n, total, n * spi, spi, f"avr_loss={avr_loss}")


def sd_scripts_log(total: int = 60, epochs: int = 3) -> tuple[str, list[tuple[int, float]], str]:
    """(head of the log, the (step, avr_loss) each update shows, a tail for the last step),
    as `accelerate launch train_network.py ... 2>&1 | tee train.log` records it."""
    head = ("prepare tokenizer\nimport network module: networks.lora\n"
            "100%|██████████| 20/20 [00:03<00:00,  6.02it/s]\n"
            "running training / 学習開始\n"
            "  num train images * repeats / 学習画像の数×繰り返し回数: 200\n"
            f"  num epochs / epoch数: {epochs}\n"
            f"  total optimization steps / 学習ステップ数: {total}\n"
            + "\r" + tqdm_line("steps", 0, total, 0, 0))
    shown = [(step, round(0.12 - 0.0005 * step + (step % 7) * 0.001, 4))
             for step in range(1, total + 1)]
    return head, shown, "\n"


def lines_for(updates: list[tuple[int, float]], total: int, epochs: int) -> str:
    per_epoch = total // epochs
    out = []
    for step, avg in updates:
        if (step - 1) % per_epoch == 0:
            out.append(f"\n\nepoch {(step - 1) // per_epoch + 1}/{epochs}\n")
        out.append(tqdm_bar(step, total, 1.6, f"{avg:.4f}".rstrip("0")))
    return "".join(out)


def notifications(app) -> list:
    return list(app._notifications)


async def open_watch(pilot, app, path) -> None:
    """On the Start step: ctrl+l, the path, enter; the Train step follows it."""
    await pilot.press("ctrl+l")
    field = app.screen.query_one("#watch-path")
    assert field.has_focus
    field.value = str(path)
    await pilot.press("enter")
    await wait_for(pilot, lambda: getattr(app.screen, "STEP", "") == "train")


@contextlib.asynccontextmanager
async def watching_twelve_steps(project, total: int = 60, epochs: int = 3):
    """The wizard following an sd-scripts log that has shown its first 12 steps:
    (pilot, app, the log), once the chart holds those 12 rows."""
    head, shown, _ = sd_scripts_log(total, epochs)
    log = project / "train.log"
    log.write_text(head + lines_for(shown[:12], total, epochs), encoding="utf-8")
    app = create_app(project, gpu=NO_GPU, watch_interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_watch(pilot, app, log)
        chart = app.screen.query_one(LossChart)
        await wait_for(pilot, lambda: len(chart.smooth_steps) == 12)
        yield pilot, app, log


async def test_a_growing_sd_scripts_log_is_followed_with_the_streams_numbers(project) -> None:
    total, epochs = 60, 3
    head, shown, _ = sd_scripts_log(total, epochs)
    log = project / "train.log"
    log.write_text(head, encoding="utf-8")
    app = create_app(project, gpu=NO_GPU, watch_interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_watch(pilot, app, log)
        screen = app.screen
        chart = screen.query_one(LossChart)
        assert screen.foreign
        # A foreign run has no start / stop / resume keys, and says whose it is.
        for action in ("start", "stop", "resume"):
            assert screen.check_action(action, ()) is False
        assert screen.check_action("unwatch", ()) is True
        written = 0
        with log.open("a", encoding="utf-8") as fh:
            for upto in (7, 23, 41, total):  # the trainer writes in bursts
                fh.write(lines_for(shown[written:upto], total, epochs))
                fh.flush()
                written = upto
                await wait_for(pilot, lambda n=upto: len(chart.smooth_steps) >= n - 1)
        await wait_for(pilot, lambda: len(chart.smooth_steps) == total)
        # The chart's numbers are the stream's: sd-scripts prints its average only.
        assert list(chart.smooth_steps) == [s for s, _ in shown]
        assert list(chart.smooth) == pytest.approx([v for _, v in shown])
        assert len(chart.steps) == 0  # no raw loss in this stream: none invented
        lines = "\n".join(screen_lines(app))
        assert f"{total}/{total}" in lines
        assert "watching sd-scripts" in lines
        assert "epoch 3" in lines
        assert "0.62 it/s" in lines  # 1.6 s/it, from the bar
        footer = lines.splitlines()[-1]
        assert "Stop watching" in footer and "Start" not in footer and "Resume" not in footer
        from loratui.watch import registry

        entry = registry.load()[0]  # `loratui runs` lists it, as after `loratui watch`
        assert entry["path"] == str(log) and entry["trainer"] == "sd-scripts"
        await pilot.press("escape")  # stop watching: back to loratui's own (no run yet)
        await wait_for(pilot, lambda: not screen.foreign)
        assert app.state.watch_path is None
        assert screen.check_action("start", ()) is True
        await wait_for(pilot, lambda: registry.load()[0]["last_step"] == total)


async def test_an_injected_nan_raises_the_notification_within_one_update(project) -> None:
    total = 60
    async with watching_twelve_steps(project, total) as (pilot, app, log):
        screen = app.screen
        seen: list[tuple[bool, int]] = []  # per update with rows: (a NaN row?, notified)
        handler, notify = screen._run_update, screen.notify
        notified: list[str] = []

        def counting(message):
            handler(message)
            if message.metrics:
                nan = any(isinstance(r.get("loss_avg"), float) and math.isnan(r["loss_avg"])
                          for r in message.metrics)
                seen.append((nan, len(notified)))

        def noting(message, **kw):
            notified.append(kw.get("title") or "")
            notify(message, **kw)

        screen._run_update, screen.notify = counting, noting
        before = len(notifications(app))
        with log.open("a", encoding="utf-8") as fh:
            fh.write(tqdm_bar(13, total, 1.6, "nan"))
        await wait_for(pilot, lambda: any(nan for nan, _ in seen))
        first_nan = next(i for i, (nan, _) in enumerate(seen) if nan)
        assert seen[first_nan][1] == 1, "no notification with the update of the NaN"
        await wait_for(pilot, lambda: len(notifications(app)) > before)  # the toast shows
        toast = notifications(app)[-1]
        finding = screen.findings[-1]
        assert finding["severity"] == "error" and finding["code"] in toast.title
        assert "Fix:" in toast.message and finding["fix"] in toast.message
        assert toast.severity == "error"
        assert len(screen.query_one(LossChart).smooth_steps) == 12  # the NaN is not drawn
        # listed in the view (title and events) as well
        await wait_for(pilot, lambda: finding["code"] in "\n".join(screen_lines(app)))


async def test_a_path_that_cannot_be_watched_is_one_dialog(project) -> None:
    from loratui.ui.dialogs import ErrorDialog

    app = create_app(project, gpu=NO_GPU, watch_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+l")
        app.screen.query_one("#watch-path").value = str(project / "no-such.log")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        assert "no-such.log" in app.screen.message
        assert "Traceback" not in app.screen.message


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_watch_view_and_start_field_fit_the_terminal(project, size) -> None:
    total, epochs = 60, 3
    head, shown, _ = sd_scripts_log(total, epochs)
    deep = project / "kohya" / "outputs" / "a-long-named-character-lora-v3" / "log"
    deep.mkdir(parents=True)
    log = deep / "train.log"
    log.write_text(head + lines_for(shown[:30], total, epochs) + tqdm_bar(31, total, 1.6, "nan"),
                   encoding="utf-8")
    app = create_app(project, gpu=NO_GPU, watch_interval=0.05)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)  # the Start step's checks are shown
        assert cut_off(app) == []
        assert "ctrl+l" in "\n".join(screen_lines(app))  # the visible hint
        await open_watch(pilot, app, log)
        await wait_for(pilot, lambda: app.screen.findings)
        await settle(pilot)
        assert cut_off(app) == []


async def test_a_kohya_gui_log_replayed_in_uneven_chunks_matches_the_stream(project) -> None:
    """The kohya_ss GUI's console as users tee it (Windows CRLF, ANSI-coloured rich log
    lines, a warning printed in the middle of the bar's line), written in chunks cut
    mid-line and mid-UTF-8 while the wizard follows: the chart shows each step's avr_loss."""
    import random

    stream = sd_scripts(steps=60, epochs=3, crlf=True, gui=True)
    data = stream.data
    log = project / "kohya_gui.log"
    log.write_bytes(b"")
    app = create_app(project, gpu=NO_GPU, watch_interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_watch(pilot, app, log)
        chart = app.screen.query_one(LossChart)
        rnd, i = random.Random(3), 0
        with log.open("ab") as fh:
            while i < len(data):
                n = rnd.randint(1, 900)
                fh.write(data[i:i + n])
                fh.flush()
                i += n
                await pilot.pause(0.02)
        await wait_for(pilot, lambda: len(chart.smooth_steps) == len(stream.rows))
        assert list(chart.smooth_steps) == [r["step"] for r in stream.rows]
        assert list(chart.smooth) == pytest.approx([r["loss_avg"] for r in stream.rows])
        assert app.screen.run_state.get("trainer") == "kohya_ss"
        assert "60/60" in "\n".join(screen_lines(app))


async def test_sample_images_appear_as_the_trainer_writes_them(project) -> None:
    """sd-scripts writes its samples to <output_dir>/sample/ beside the log."""
    from PIL import Image

    total, epochs = 60, 3
    head, shown, _ = sd_scripts_log(total, epochs)
    out = project / "output"
    (out / "sample").mkdir(parents=True)
    log = out / "train.log"
    log.write_text(head + lines_for(shown[:20], total, epochs), encoding="utf-8")
    app = create_app(project, gpu=NO_GPU, watch_interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_watch(pilot, app, log)
        caption = app.screen.query_one(".sample-caption")
        await wait_for(pilot, lambda: len(app.screen.query_one(LossChart).smooth_steps) == 20)
        name = "my_lora_e000001_00_20240501190211.png"  # sd-scripts' sample file name
        assert name not in str(caption.render())
        Image.new("RGB", (64, 64), (200, 40, 40)).save(out / "sample" / name)
        await wait_for(pilot, lambda: name in str(caption.render()))


async def test_the_live_doctors_finding_shows_in_chinese(project, chinese) -> None:
    total = 60
    async with watching_twelve_steps(project, total) as (pilot, app, log):
        screen = app.screen
        with log.open("a", encoding="utf-8") as fh:
            fh.write(tqdm_bar(13, total, 1.6, "nan"))
        await wait_for(pilot, lambda: screen.findings)
        finding = screen.findings[-1]
        assert finding["code"] == "LG101" and finding["title"] == "Nan loss"
        await wait_for(pilot, lambda: len(notifications(app)) > 0)
        toast = notifications(app)[-1]
        assert "loss 变成 NaN" in toast.message and "调低学习率" in toast.message
        assert "Nan loss" not in toast.message and "learning rate" not in toast.message
        # the Events line too
        await wait_for(pilot, lambda: "loss 变成 NaN" in "\n".join(screen_lines(app)))

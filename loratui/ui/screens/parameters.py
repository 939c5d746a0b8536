"""Step 5: training parameters — preset from the GPU, every field explained, VRAM, warnings."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Select, Static

from loratui.config import ConfigError, RunConfig, field_docs, parse_config
from loratui.i18n import N_, _, error_text, localized
from loratui.ui import core
from loratui.ui.dialogs.edit_field import EditFieldDialog
from loratui.ui.messages import TaskDone, post_if_current
from loratui.ui.screens.base import WizardScreen
from loratui.ui.text import TOAST_PATH, break_dotted, in_project, pad, severity_name, short_path

HIDDEN = {"doctor"}  # free-form threshold overrides: edited in loratui.toml, not here


def range_text(row: dict[str, Any]) -> str:
    b = row["bounds"]
    parts = []
    lo, hi = b.get("ge", b.get("gt")), b.get("le", b.get("lt"))
    if lo is not None or hi is not None:
        parts.append(f"{'[' if 'ge' in b else '('}{'' if lo is None else lo}, "
                     f"{'' if hi is None else hi}{']' if 'le' in b else ')'}")
    if "multiple_of" in b:
        parts.append(f"×{b['multiple_of']}")
    if row["choices"]:
        parts.append("/".join(map(str, row["choices"])))
    if row["type"] == "bool":
        parts.append("true/false")
    return " ".join(parts)


def value_text(value: Any, key: str = "") -> str:
    if value is None:  # an optional value that follows another one
        return {"network.alpha": _("(= rank)"),
                "optimizer.text_encoder_2_lr": _("(= TE1 LR)")}.get(key, _("(default)"))
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return " | ".join(map(str, value)) or _("(none)")
    return str(value) if value != "" else _("(empty)")


def get_dotted(cfg: RunConfig, key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        node = getattr(node, part)
    return node


def with_value(cfg: RunConfig, key: str, value: Any) -> RunConfig:
    """A new config with `key` set, validated by the core (raises ConfigError)."""
    data = cfg.model_dump()
    node = data
    *parents, last = key.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return parse_config(data, "loratui.toml")


def parse_text(row: dict[str, Any], raw: Any) -> Any:
    """Turn what was typed into the field's type (ValueError when it is not)."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    kind = row["type"]
    if kind.startswith("list"):
        return [p.strip() for p in text.split("|") if p.strip()]
    if "None" in kind and text == "":
        return None
    number = int if kind.startswith("int") else float if kind.startswith("float") else None
    if number is None:
        return text
    try:
        return number(text)
    except ValueError:
        said = (_("`{text}` is not a whole number: type one, e.g. 8") if number is int else
                _("`{text}` is not a number: type one, e.g. 0.0001 or 1e-4")).format(text=text)
        if "None" in kind:
            said += " " + _("(empty = the default)")
        raise ValueError(said) from None


class FieldTable(DataTable):
    """The settings list; enter edits the highlighted setting (shown in the footer)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", N_("Edit"))]


class ParametersScreen(WizardScreen):
    STEP = "parameters"
    HELP = N_("""
The Parameters step holds every training setting, starting from a preset chosen for
the GPU's memory. Enter edits the highlighted setting; ctrl+s saves loratui.toml.

Preset          The starting point: ctrl+r picks the one for this GPU. Editing a value
                away from the preset shows "(custom)"; the preset's name returns when
                the values match it again.
Settings        Every key of loratui.toml and its value. The right side explains the
                highlighted one: meaning, default, allowed range, related pitfalls.
VRAM            The estimated GPU memory for these settings against the card's.
Warnings        The doctor's findings for these settings (code, what is wrong); ctrl+g
                opens the Doctor with all of them and their fixes.
""")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", N_("Save")),
        Binding("ctrl+r", "recommended", N_("GPU preset")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows = [r for r in field_docs() if r["key"] not in HIDDEN]
        self.dirty = False

    def compose_body(self) -> ComposeResult:
        from loratui.presets import load_presets

        gpu = getattr(self.state.gpu, "best", None)  # presets in the precision it trains in
        self.presets = [p if p.cpu else p.for_gpu(gpu) for p in load_presets()]
        with Vertical(id="body"):
            with Horizontal(id="preset-bar"):
                yield Label(_("Preset"), classes="form-label")
                yield Select([(p.text("label") + ("" if p.cpu else f" · {p.kind}"), p.id)
                              for p in self.presets], id="preset", allow_blank=True,
                             prompt=_("(custom)"))
            with Horizontal(id="param-main"):
                yield FieldTable(id="fields", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="field-help-box"):
                    yield Static("", id="field-help", markup=False)
            yield Static("", id="vram")
            yield Static("", id="warnings", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#fields", DataTable)
        table.add_column(_("setting"), key="setting")  # columns size to their content
        table.add_column(_("value"), key="value")
        for row in self.rows:
            table.add_row(row["key"], "", key=row["key"])
        self.refresh_from_state()
        self._name_preset()
        table.focus()

    def _name_preset(self) -> None:
        """The preset box names the preset whose values the settings hold, else shows
        "(custom)": after an edit away from a preset, and again once the values match it."""
        from loratui.presets import matching

        preset = matching(self.state.config, self.presets)
        select = self.query_one("#preset", Select)
        if preset is None:
            select.clear()
        elif select.value != preset.id:
            select.value = preset.id  # applying it changes nothing (preset_changed)

    def refresh_from_state(self) -> None:
        cfg = self.state.config
        table = self.query_one("#fields", DataTable)
        # The table takes up to 68% of the screen; the settings column, its padding and
        # the scrollbar take the rest of that from the values.
        key_width = max(len(r["key"]) for r in self.rows)
        width = max(10, int(self.app.size.width * 0.58) - key_width - 6)
        for row in self.rows:
            value = value_text(get_dotted(cfg, row["key"]), row["key"])
            if row["key"].endswith((".dir", ".base", "_dir")) or "/" in value:
                value = short_path(in_project(value, self.state.project), width)
            elif len(value) > width:  # long lists (sample prompts): whole in the help panel
                value = value[: width - 1] + "…"
            table.update_cell(row["key"], "value", value)
        self._show_help()
        self._show_vram()
        self._show_warnings()

    def help_topic(self) -> tuple[str, str, list[str]]:
        title, body, codes = super().help_topic()
        fields = "\n".join(f"{r['key']}  {_(r['description'])}"
                           + (f" ({', '.join(r['pitfalls'])})" if r["pitfalls"] else "")
                           for r in self.rows)
        return title, f"{body}\n\n" + _("Every setting:") + f"\n{fields}", codes

    def codes_shown(self) -> list[str]:
        codes: list[str] = []
        for d in getattr(self, "found", None) or []:
            codes += [c for c in (d.code, *d.refs) if c not in codes]
        return codes

    # ---- presets ----------------------------------------------------------------------
    def action_recommended(self) -> None:
        from loratui.presets import choose

        preset = choose(self.state.card_gb, self.state.config.network.kind,
                        gpu=getattr(self.state.gpu, "best", None))
        self.query_one("#preset", Select).value = preset.id

    @on(Select.Changed, "#preset")
    def preset_changed(self, event: Select.Changed) -> None:
        preset = next((p for p in self.presets if p.id == event.value), None)
        if preset is None:  # blank ("custom")
            return
        cfg = preset.to_config(self.state.config)
        if cfg == self.state.config:
            return  # already this preset's settings (as when the step opens on them)
        self.state.config = cfg
        self.dirty = True
        self.refresh_from_state()
        self.notify(preset.text("rationale"), title=preset.text("label"), timeout=6)

    # ---- one field ------------------------------------------------------------------------
    @property
    def current_row(self) -> dict[str, Any]:
        table = self.query_one("#fields", DataTable)
        return self.rows[max(0, table.cursor_row)]

    def help_for(self, row: dict[str, Any], width: int = 0, *, name: bool = True) -> str:
        """The help text of a setting; its dotted name broken to fit `width` (0: whole)
        first unless `name` is False (the editor's title shows it)."""
        value = get_dotted(self.state.config, row["key"])
        key = row["key"]
        lines = [break_dotted(key, width), ""] if name else []
        lines += [_(row["description"]), ""]
        shown = value_text(value, key)
        if "/" in shown:
            shown = short_path(shown, 40)
        lines.append(_("value: {value}   default: {default}").format(
            value=shown, default=value_text(row["default"], key)))
        if range_text(row):
            lines.append(_("allowed: {range}").format(range=localized(range_text(row))) +
                         (f" {row['unit']}" if row["unit"] else ""))
        if row["pitfalls"]:
            lines.append(_("pitfalls: {refs}").format(refs=", ".join(row["pitfalls"])))
        return "\n".join(lines)

    @on(DataTable.RowHighlighted, "#fields")
    def _highlighted(self) -> None:
        self._show_help()

    def _show_help(self) -> None:
        panel = self.query_one("#field-help", Static)
        panel.update(self.help_for(self.current_row, panel.content_region.width))

    def on_resize(self) -> None:
        # the setting's name breaks at the help panel's width, known once it is laid out
        self.call_after_refresh(self._show_help)

    @on(DataTable.RowSelected, "#fields")
    def _selected(self) -> None:
        self.action_edit()

    def action_edit(self) -> None:
        row = self.current_row
        current = get_dotted(self.state.config, row["key"])

        def parse(raw: Any) -> tuple[Any, str]:
            try:
                value = parse_text(row, raw)
                with_value(self.state.config, row["key"], value)
            except ValueError as exc:  # parse_text says it in words, not Python's types
                return None, error_text(exc)
            except ConfigError as exc:
                return None, "\n".join(localized(p) for p in exc.problems)
            return value, ""

        def done(value: Any) -> None:
            if value is EditFieldDialog.CANCEL:
                return
            self.state.config = with_value(self.state.config, row["key"], value)
            self.dirty = True
            self.refresh_from_state()
            self._name_preset()

        self.app.push_screen(EditFieldDialog(row, current, self.help_for(row, name=False), parse), done)

    # ---- VRAM and warnings ---------------------------------------------------------------
    def _show_vram(self) -> None:
        from loratui.vram import VramInputs, estimate

        est = estimate(VramInputs.from_config(self.state.config))
        card = self.state.card_gb
        widget = self.query_one("#vram", Static)
        if card is None:
            family, _checkpoint = core.base_for_usage(self.state.config)
            widget.update(_("VRAM estimate {gb} GB for {family} — no GPU here (the CPU demo "
                            "trains the tiny model)").format(
                gb=f"{est.total_gb:.1f}", family=core.family_label(family)))
            widget.set_class(False, "bad")
            return
        width = 30
        filled = min(width, round(width * est.total_gb / card))
        bar = "█" * filled + "░" * (width - filled)
        fits = est.fits(card)
        widget.update(_("VRAM {bar} {used} of {card} GB").format(
            bar=bar, used=f"{est.total_gb:.1f}", card=f"{card:.1f}") + " "
                      + (_("fits") if fits else
                         _("DOES NOT FIT: lower batch or resolution (P12)")))
        widget.set_class(not fits, "bad")

    def _show_warnings(self) -> None:
        st = self.state
        self.check_config(st.resolved(), str(st.config_path))

    @work(thread=True, exclusive=True, group="doctor", exit_on_error=False,
          name=N_("Doctor warnings"))
    def check_config(self, cfg: RunConfig, path: str) -> None:
        post_if_current(self, TaskDone("warnings",
                                          core.config_findings(cfg, self.state.gpu, path)))

    @on(TaskDone)
    def warnings_done(self, message: TaskDone) -> None:
        found = self.found = message.result
        widget = self.query_one("#warnings", Static)
        if not found:
            widget.update(_("doctor: no warnings for these settings"))
        else:
            shown = 3 if self.size.height >= 30 else 2
            lines = [f"{pad(severity_name(d.severity), 7)} {d.code} {d.shown_message}"
                     for d in found[:shown]]
            if len(found) > shown:
                lines.append("… " + _("{n} more: ctrl+g opens the Doctor; F1 explains the "
                                      "codes").format(n=len(found) - shown))
            widget.update("\n".join(lines))
        widget.set_class(bool(found), "warn")

    # ---- saving ------------------------------------------------------------------------------
    def action_save(self) -> None:
        path = self.save_config(N_("Cannot save"))
        if path is None:
            return
        self.dirty = False
        self.notify(_("saved {name}").format(name=short_path(path, TOAST_PATH)))

    def before_next(self) -> bool:
        self.action_save()
        return not self.dirty

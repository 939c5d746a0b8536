"""`loratui doctor` with no path: the project in a folder.

A project is a `loratui.toml` (its dataset folder is checked as the config's child) and the
latest run folder under its `output.dir`. What is found is listed, so the user sees what was
checked; with nothing there the caller says so and exits 2.
"""

from __future__ import annotations

import os

CONFIG_NAME = "loratui.toml"
STATE_FILE = "state.json"  # what marks a run folder (loratui.runs.STATE_FILE)


class Project:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.config: str | None = None
        self.dataset: str | None = None
        self.run: str | None = None
        self.notes: list[str] = []

    @property
    def paths(self) -> list[str]:
        """What to diagnose, relative to the current folder when inside it."""
        here = os.getcwd()
        return [os.path.relpath(p, here) if p.startswith(here + os.sep) else p
                for p in (self.config, self.run) if p]

    def describe(self) -> str:
        """What will be checked, in the current language."""
        from loratui.i18n import _, pgettext

        parts = []
        if self.config:
            parts.append(os.path.relpath(self.config, self.folder))
        if self.dataset:
            parts.append(_("its dataset {path}").format(
                path=os.path.relpath(self.dataset, self.folder)))
        if self.run:
            parts.append(_("its latest run {path}").format(
                path=os.path.relpath(self.run, self.folder)))
        return pgettext("list separator", ", ").join(parts)


def _settings(path: str) -> dict:
    from loratui.tomlparser import parser

    try:
        with open(path, "rb") as fh:
            data = parser().load(fh)
    except (OSError, ValueError):
        return {}  # the doctor reports the unreadable file itself (DR002)
    return data if isinstance(data, dict) else {}


def _section(data: dict, name: str) -> dict:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def latest_run(output_dir: str, name: str = "") -> str | None:
    """The newest run folder (one holding state.json) under `output_dir`; runs named after
    this config (`<name>-<timestamp>`) first."""
    try:
        entries = [e for e in os.scandir(output_dir) if e.is_dir()]
    except OSError:
        return None
    runs = []
    for e in entries:
        try:
            mtime = os.stat(os.path.join(e.path, STATE_FILE)).st_mtime
        except OSError:
            continue
        runs.append((bool(name) and e.name.startswith(f"{name}-"), mtime, e.name, e.path))
    return max(runs)[3] if runs else None


def find_project(folder: str = ".") -> Project:
    folder = os.path.abspath(folder)
    project = Project(folder)
    config = os.path.join(folder, CONFIG_NAME)
    if not os.path.isfile(config):
        return project
    project.config = config
    data = _settings(config)
    dataset_dir = str(_section(data, "dataset").get("dir") or "")
    if dataset_dir:
        path = os.path.join(folder, os.path.expanduser(dataset_dir))
        if os.path.isdir(path):
            project.dataset = os.path.normpath(path)
        else:
            from loratui.i18n import N_, Message

            project.notes.append(Message(N_("its dataset folder {path} does not exist here"),
                                         path=dataset_dir))
    output = _section(data, "output")
    out_dir = os.path.join(folder, os.path.expanduser(str(output.get("dir") or "runs")))
    project.run = latest_run(out_dir, str(output.get("name") or ""))
    return project

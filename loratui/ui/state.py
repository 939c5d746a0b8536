"""What the wizard knows about the project it is working on. Owned by the App.

Only plain data and calls into the core: no Textual here, so it is testable alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loratui.config import CONFIG_NAME, ConfigError, RunConfig, load_config, save_config
from loratui.gpu import GpuReport


@dataclass
class WizardState:
    project: Path
    config: RunConfig
    gpu: GpuReport
    config_found: bool = False
    run_dir: Path | None = None
    watch_path: Path | None = None  # another trainer's run the Train step follows
    dataset_report: Any = None
    diagnostics: list[Any] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.project / CONFIG_NAME

    @property
    def card_gb(self) -> float | None:
        best = self.gpu.best
        return best.total_gb if best else None

    def resolve(self, value: str) -> Path | None:
        """A path from the config, made absolute against the project folder."""
        if not value:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.project / p)

    @property
    def base_model(self) -> Path | None:
        return self.resolve(self.config.model.base)

    @property
    def dataset_dir(self) -> Path | None:
        return self.resolve(self.config.dataset.dir)

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.config.output.dir) or self.project / "runs"

    def resolved(self) -> RunConfig:
        """The config with its relative paths made absolute against the project folder."""
        return self.config.resolve_paths(self.project)

    def save(self) -> Path:
        """Write loratui.toml; a file that could not be loaded is first kept as
        `loratui.toml.<time>.bak` (an earlier backup is never replaced)."""
        path = self.config_path
        # a file that did not load is kept as a .bak and written anew (through a link)
        save_config(self.config, path, replace=not self.config_found)
        self.config_found = True
        return self.config_path


def open_project(project: Path, gpu: GpuReport, kind: str = "character") -> WizardState:
    """Load `project/loratui.toml`, or start from the preset that fits the GPU.

    Raises ConfigError when the file exists but cannot be used (the UI shows it).
    """
    from loratui.presets import choose

    project = project.expanduser().resolve()
    path = project / CONFIG_NAME
    if path.exists():
        cfg = load_config(path, resolve=False)
        return WizardState(project, cfg, gpu, config_found=True)
    best = gpu.best
    cfg = choose(best.total_gb if best else None, kind, gpu=best).to_config()
    return WizardState(project, cfg, gpu)


__all__ = ["ConfigError", "WizardState", "open_project"]

"""Run config: the typed model (`RunConfig`), TOML load/save, kohya import/export."""

from .io import CONFIG_NAME, ConfigError, atomic_write_text, load_config, parse_config, save_config
from .model import RunConfig, field_docs

__all__ = [
    "CONFIG_NAME",
    "ConfigError",
    "RunConfig",
    "atomic_write_text",
    "field_docs",
    "load_config",
    "parse_config",
    "save_config",
]

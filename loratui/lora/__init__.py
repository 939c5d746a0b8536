"""LoRA files: header-only reading, format / family detection, inspection."""

from loratui.lora.reader import LoraError, LoraFile, open_lora

__all__ = ["LoraError", "LoraFile", "open_lora"]

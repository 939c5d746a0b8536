"""Modal dialogs: errors, confirmations, field editing."""

from .confirm import ConfirmDialog
from .error import ErrorDialog

__all__ = ["ConfirmDialog", "ErrorDialog"]

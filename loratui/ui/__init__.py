"""The Textual wizard. Calls the core only; nothing in the core imports this package."""

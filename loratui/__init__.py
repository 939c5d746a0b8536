"""loratui: a terminal wizard and doctor for training Stable Diffusion LoRAs."""

__version__ = "0.1.0"

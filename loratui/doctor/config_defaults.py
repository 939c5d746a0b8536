"""Defaults and key list of `loratui.toml`, without importing pydantic.

Generated from `loratui.config.field_docs()`; tests/doctor/test_catalog.py checks it is in
sync (regenerate: `python -m loratui.doctor.config_defaults`)."""

from __future__ import annotations

DEFAULTS = {
    'model.base': '',
    'model.family': 'auto',
    'model.v_prediction': False,
    'model.zero_terminal_snr': False,
    'model.vae': '',
    'dataset.dir': '',
    'dataset.reg_dir': '',
    'dataset.prior_loss_weight': 1.0,
    'dataset.resolution': 512,
    'dataset.bucketing': False,
    'dataset.caption_extension': '.txt',
    'dataset.trigger_word': '',
    'dataset.shuffle_captions': False,
    'dataset.keep_tokens': 1,
    'dataset.caption_dropout': 0.0,
    'dataset.repeats': 1,
    'network.kind': 'character',
    'network.rank': 8,
    'network.alpha': None,
    'network.train_text_encoder': True,
    'network.dropout': 0.0,
    'optimizer.unet_lr': 0.0001,
    'optimizer.text_encoder_lr': 5e-06,
    'optimizer.text_encoder_2_lr': None,
    'optimizer.name': 'AdamW',
    'optimizer.weight_decay': 0.01,
    'optimizer.scheduler': 'constant',
    'optimizer.warmup_steps': 0,
    'optimizer.max_grad_norm': 1.0,
    'training.batch_size': 1,
    'training.gradient_accumulation': 4,
    'training.epochs': 10,
    'training.max_steps': 0,
    'training.mixed_precision': 'fp16',
    'training.gradient_checkpointing': True,
    'training.attention': 'sdpa',
    'training.no_half_vae': True,
    'training.cache_latents': True,
    'training.seed': 42,
    'training.noise_offset': 0.0,
    'training.save_every_n_epochs': 1,
    'output.dir': 'runs',
    'output.name': 'my_lora',
    'output.save_precision': 'fp16',
    'sample.prompts': [],
    'sample.every_n_epochs': 1,
    'sample.steps': 20,
    'sample.seed': 1234,
    'tricks.dynamic_weight.enabled': False,
    'tricks.dynamic_weight.start_fraction': 0.3333333333333333,
    'tricks.dynamic_weight.end_scale': 0.7,
    'tricks.label_pollution.enabled': False,
    'tricks.label_pollution.probability': 1.0,
    'tricks.label_pollution.tags': [],
    'doctor': {},
}



def _generate() -> str:
    from loratui.config import field_docs

    body = "".join(f"    {r['key']!r}: {r['default']!r},\n" for r in field_docs())
    return "DEFAULTS = {\n" + body + "}\n"


if __name__ == "__main__":
    import re
    from pathlib import Path

    path = Path(__file__)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"DEFAULTS = \{\n.*?\n\}\n", _generate(), text, count=1, flags=re.S)
    path.write_text(text, encoding="utf-8")

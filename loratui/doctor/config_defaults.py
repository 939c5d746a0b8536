"""Defaults, key list and value constraints of `loratui.toml`, without importing pydantic.

Generated from `loratui.config.field_docs()`; tests/doctor/test_catalog.py checks it is in
sync (regenerate: `python -m loratui.doctor.config_defaults`). `CONSTRAINTS` holds what
`loratui config check` enforces (type, range, step, choices, pattern) so the doctor reports
the same invalid values without loading the pydantic model."""

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
    'training.log_with': 'tensorboard',
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

CONSTRAINTS = {
    'model.base': ('str', {}, [], ['P16']),
    'model.family': ('choice', {}, ['auto', 'sd15', 'sd2', 'sdxl'], ['P3']),
    'model.v_prediction': ('bool', {}, [], []),
    'model.zero_terminal_snr': ('bool', {}, [], []),
    'model.vae': ('str', {}, [], ['P15']),
    'dataset.dir': ('str', {}, [], ['P1', 'P2']),
    'dataset.reg_dir': ('str', {}, [], ['P26']),
    'dataset.prior_loss_weight': ('float', {'ge': 0.0, 'le': 10.0}, [], ['P26']),
    'dataset.resolution': ('int', {'ge': 64, 'le': 2048, 'multiple_of': 8}, [], ['P3']),
    'dataset.bucketing': ('bool', {}, [], ['P3', 'P4']),
    'dataset.caption_extension': ('str', {'pattern': '^\\.[A-Za-z0-9_]+$'}, [], []),
    'dataset.trigger_word': ('str', {}, [], ['P7']),
    'dataset.shuffle_captions': ('bool', {}, [], []),
    'dataset.keep_tokens': ('int', {'ge': 0, 'le': 75}, [], []),
    'dataset.caption_dropout': ('float', {'ge': 0.0, 'le': 1.0}, [], []),
    'dataset.repeats': ('int', {'ge': 1, 'le': 1000}, [], []),
    'network.kind': ('choice', {}, ['character', 'style', 'concept'], ['P18']),
    'network.rank': ('int', {'ge': 1, 'le': 1024}, [], ['P10', 'P20']),
    'network.alpha': ('float | None', {'ge': 0.0, 'le': 4096.0}, [], ['P11']),
    'network.train_text_encoder': ('bool', {}, [], ['P9']),
    'network.dropout': ('float', {'ge': 0.0, 'le': 1.0}, [], []),
    'optimizer.unet_lr': ('float', {'gt': 0.0, 'le': 10.0}, [], ['P8']),
    'optimizer.text_encoder_lr': ('float', {'ge': 0.0, 'le': 10.0}, [], ['P9']),
    'optimizer.text_encoder_2_lr': ('float | None', {'ge': 0.0, 'le': 10.0}, [], ['P9']),
    'optimizer.name': ('choice', {}, ['AdamW', 'AdamW8bit', 'Adafactor', 'Lion', 'Prodigy', 'SGD'], []),
    'optimizer.weight_decay': ('float', {'ge': 0.0, 'le': 1.0}, [], []),
    'optimizer.scheduler': ('choice', {}, ['constant', 'constant_with_warmup', 'linear', 'cosine', 'cosine_with_restarts', 'polynomial'], []),
    'optimizer.warmup_steps': ('int', {'ge': 0}, [], []),
    'optimizer.max_grad_norm': ('float', {'ge': 0.0}, [], []),
    'training.batch_size': ('int', {'ge': 1, 'le': 256}, [], ['P12']),
    'training.gradient_accumulation': ('int', {'ge': 1, 'le': 256}, [], ['P12']),
    'training.epochs': ('int', {'ge': 1, 'le': 10000}, [], ['P13']),
    'training.max_steps': ('int', {'ge': 0}, [], []),
    'training.mixed_precision': ('choice', {}, ['no', 'fp16', 'bf16'], ['P14']),
    'training.gradient_checkpointing': ('bool', {}, [], ['P12', 'P14']),
    'training.attention': ('choice', {}, ['sdpa', 'xformers', 'eager'], ['P14']),
    'training.no_half_vae': ('bool', {}, [], ['P15']),
    'training.cache_latents': ('bool', {}, [], []),
    'training.seed': ('int', {'ge': 0, 'le': 4294967295}, [], []),
    'training.noise_offset': ('float', {'ge': 0.0, 'le': 1.0}, [], []),
    'training.save_every_n_epochs': ('int', {'ge': 0}, [], []),
    'training.log_with': ('choice', {}, ['tensorboard', 'wandb', 'all', 'none'], []),
    'output.dir': ('str', {}, [], ['P34']),
    'output.name': ('str', {'pattern': '^[^/\\\\:*?\\"<>|\\x00-\\x1f\\x7f]+$'}, [], ['P29']),
    'output.save_precision': ('choice', {}, ['no', 'fp16', 'bf16'], ['P29']),
    'sample.prompts': ('list', {}, [], ['P7']),
    'sample.every_n_epochs': ('int', {'ge': 0}, [], []),
    'sample.steps': ('int', {'ge': 1, 'le': 200}, [], []),
    'sample.seed': ('int', {'ge': 0, 'le': 4294967295}, [], []),
    'tricks.dynamic_weight.enabled': ('bool', {}, [], ['P27']),
    'tricks.dynamic_weight.start_fraction': ('float', {'gt': 0.0, 'lt': 1.0}, [], ['P27']),
    'tricks.dynamic_weight.end_scale': ('float', {'gt': 0.0, 'le': 1.0}, [], ['P27']),
    'tricks.label_pollution.enabled': ('bool', {}, [], ['P28']),
    'tricks.label_pollution.probability': ('float', {'ge': 0.0, 'le': 1.0}, [], ['P28']),
    'tricks.label_pollution.tags': ('list', {}, [], ['P28']),
    'doctor': ('dict', {}, [], []),
}



def constraint_of(row: dict) -> tuple:
    """(type, bounds, choices, pitfalls) of one `field_docs()` row."""
    return (row["type"], dict(row["bounds"]), list(row["choices"]), list(row["pitfalls"]))


def _generate() -> str:
    from loratui.config import field_docs

    rows = field_docs()
    body = "".join(f"    {r['key']!r}: {r['default']!r},\n" for r in rows)
    cons = "".join(f"    {r['key']!r}: {constraint_of(r)!r},\n" for r in rows)
    return "DEFAULTS = {\n" + body + "}\n\nCONSTRAINTS = {\n" + cons + "}\n"


if __name__ == "__main__":
    import re
    from pathlib import Path

    path = Path(__file__)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"DEFAULTS = \{\n.*?\n\}\n(?:\nCONSTRAINTS = \{\n.*?\n\}\n)?", lambda _: _generate(),
                  text, count=1, flags=re.S)
    path.write_text(text, encoding="utf-8")

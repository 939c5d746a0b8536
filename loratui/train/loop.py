"""The training loop: diffusers' `train_text_to_image_lora.py`, in small pieces.

Same maths as the reference (epsilon / v MSE on noised VAE latents, AdamW on the LoRA
parameters, accelerate for precision, accumulation and devices), plus what a long run
needs: latents cache, buckets, prior preservation, caption tricks, noise offset, the
dynamic weight (P27), label pollution (P28), NaN / OOM / signal safety, a run folder.

Reproducibility: data order and captions are pure functions of (seed, epoch, position),
noise and timesteps come from a generator seeded per micro-step, and the global RNG
(LoRA dropout) is saved with the resume state; so `--resume` continues the same curve.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loratui.i18n import N_, Message, joined, message_of
from loratui.train import data as D
from loratui.train.parts import StopRequested, TrainingStopped, make_optimizer, set_attention
from loratui.train.runfolder import RunWriter, utc_now
from loratui.train.trackers import RunTrackers, epoch_scalars, step_scalars

log = logging.getLogger("loratui.train")

EMA = 0.9  # smoothing of `loss_avg` in metrics.jsonl


@dataclass
class TrainResult:
    state: str  # finished | interrupted | failed
    step: int = 0
    max_steps: int = 0
    lora_path: Path | None = None
    run_dir: Path | None = None
    reason: str = ""
    message: str = ""
    losses: list[float] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {"finished": 0, "interrupted": 130}.get(self.state, 1)


@dataclass
class Faults:
    """Fault injection for tests of the safety paths (real loop, real models): raise a
    CUDA-style out-of-memory error or make the loss non-finite at a given optimiser step."""
    oom_at_step: int | None = None
    nan_at_step: int | None = None


def dynamic_multiplier(cfg, step: int, max_steps: int) -> float:
    """P27: 1.0 until `start_fraction` of the steps, then linear down to `end_scale`."""
    dw = cfg.tricks.dynamic_weight
    if not dw.enabled or max_steps <= 1:
        return 1.0
    start = dw.start_fraction * max_steps
    if step <= start:
        return 1.0
    t = min(1.0, (step - start) / max(1.0, max_steps - start))
    return 1.0 + (dw.end_scale - 1.0) * t


def _oom_error_types() -> tuple[type[BaseException], ...]:
    import torch

    types: list[type[BaseException]] = []
    for name in ("OutOfMemoryError",):
        t = getattr(torch, name, None) or getattr(torch.cuda, name, None)
        if t is not None:
            types.append(t)
    return tuple(types) or (RuntimeError,)


class Trainer:
    def __init__(self, cfg, run: RunWriter | None = None, *, resume: bool = False,
                 faults: Faults | None = None, cpu: bool | None = None, components=None):
        self.cfg = cfg
        self.run = run
        self.resume = resume
        self.faults = faults or Faults()
        self.force_cpu = cpu
        self.preloaded = components  # already built Components (benches: random full-size)
        self.step = 0  # optimiser steps done
        self.epoch = 0  # epochs started (1-based while running)
        self.micro_in_epoch = 0  # micro-batches done in the current epoch
        self.micro_total = 0
        self.loss_avg: float | None = None
        self.losses: list[float] = []
        self.multiplier = 1.0
        self.started_at = utc_now()
        self.session_id = uuid.uuid4().hex[:12]
        self.elapsed_before = 0.0
        self.last_checkpoint: Path | None = None

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        from loratui.train.quiet import set_quiet_env

        set_quiet_env()
        import torch
        from accelerate import Accelerator
        from accelerate.utils import set_seed

        from loratui import families
        from loratui.train import lora as L
        from loratui.train.models import ModelLoadError, load_components

        cfg, tr = self.cfg, self.cfg.training
        cuda = torch.cuda.is_available() and not self.force_cpu
        precision = tr.mixed_precision
        if not cuda and precision != "no":
            log.warning("no CUDA GPU: training in fp32 on the CPU instead of %s", precision)
            precision = "no"
        # Accumulation is done here (not with accelerator.accumulate) so that a group cut
        # short by the end of an epoch still steps the optimiser, with the right divisor.
        self.accel = Accelerator(mixed_precision=precision, cpu=not cuda)
        self.device = self.accel.device
        self.main = self.accel.is_main_process
        if self.run is not None:
            self.run.enabled = self.main
        self.trackers = RunTrackers(self.accel, self.run.path if self.run is not None and
                                    self.main else None, tr.log_with)
        set_seed(tr.seed)
        self.weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision,
                                                                                torch.float32)
        self._state("loading")
        log.info("loading %s", cfg.model.base)
        try:
            self.family = self.preloaded.family if self.preloaded else \
                families.resolve(cfg.model.base, cfg.model.family)
        except families.FamilyError as exc:
            raise ModelLoadError(message_of(exc)) from None
        comps = self.preloaded or load_components(cfg.model.base, family=self.family,
                                                  vae=cfg.model.vae or None)
        self.preloaded = None
        self.comps = comps
        self.cond = self.family.conditioner(comps)
        if cfg.model.zero_terminal_snr:
            from diffusers import DDPMScheduler

            comps.noise_scheduler = DDPMScheduler.from_config(
                comps.noise_scheduler.config, rescale_betas_zero_snr=True)
        self._check_stop()
        for m in (comps.unet, comps.vae, *comps.text_encoders):
            m.requires_grad_(False)
        net = cfg.network
        self.train_te = net.train_text_encoder and cfg.optimizer.text_encoder_lr > 0
        alpha = net.effective_alpha
        unet_targets = L.add_unet_lora(comps.unet, net.rank, alpha, net.dropout)
        te_targets = [L.add_text_encoder_lora(te, net.rank, alpha, net.dropout)
                      for te in comps.text_encoders] if self.train_te else []
        log.info("%s: LoRA rank %d alpha %g on %d UNet modules%s", self.family.label, net.rank,
                 alpha, len(unet_targets), " and " + " + ".join(str(len(t)) for t in te_targets)
                 + " text-encoder modules" if te_targets else " (text encoders frozen)")
        set_attention(comps.unet, tr.attention)
        if tr.gradient_checkpointing:
            comps.unet.enable_gradient_checkpointing()
            if self.train_te:
                for te in comps.text_encoders:
                    te.gradient_checkpointing_enable()
        vae_dtype = torch.float32 if tr.no_half_vae else self.weight_dtype
        comps.unet.to(self.device, dtype=self.weight_dtype)
        for te in comps.text_encoders:
            te.to(self.device, dtype=self.weight_dtype)
        comps.vae.to(self.device, dtype=vae_dtype)
        self.vae_dtype = vae_dtype
        for model in (comps.unet, *comps.text_encoders):  # LoRA weights train in fp32
            for p in L.lora_parameters(model):
                p.data = p.data.float()
        self.unet_params = L.lora_parameters(comps.unet)
        self.te_param_groups = ([L.lora_parameters(te) for te in comps.text_encoders]
                                if self.train_te else [])
        self.te_params = [p for group in self.te_param_groups for p in group]

        # data
        self._state("caching")
        self.plan = D.plan_dataset(cfg)
        for w in self.plan.warnings if self.main else []:  # once, not once per process
            log.warning("%s", w)
            if self.run is not None:
                self.run.event("warning", w)
        self.rules = D.CaptionRules.from_config(cfg)
        self._ids_cache: dict[int, Any] = {}
        self._embeds_cache: dict[int, Any] = {}
        self.prompts = None
        self.latents: dict[int, Any] = {}
        self.skipped: set[int] = set()  # plan indices of images that could not be read
        self.stop_asked, self.rank_losses = False, None
        if tr.cache_latents:
            self._cache_latents()
        self.batches_per_epoch = len(D.epoch_batches(self.plan, tr.batch_size, tr.seed, 1))
        per_process = math.ceil(self.batches_per_epoch / self.accel.num_processes)
        self.steps_per_epoch = max(1, math.ceil(per_process / tr.gradient_accumulation))
        self.max_steps = tr.max_steps or tr.epochs * self.steps_per_epoch
        self.epochs = math.ceil(self.max_steps / self.steps_per_epoch)

        # optimiser
        groups = [{"params": self.unet_params, "lr": cfg.optimizer.unet_lr}]
        for k, params in enumerate(self.te_param_groups):  # each text encoder at its own LR
            groups.append({"params": params, "lr": cfg.optimizer.text_encoder_lr_of(k)})
        self.optimizer = make_optimizer(cfg.optimizer, groups)
        from diffusers.optimization import get_scheduler

        self.lr_scheduler = get_scheduler(cfg.optimizer.scheduler, optimizer=self.optimizer,
                                          num_warmup_steps=cfg.optimizer.warmup_steps,
                                          num_training_steps=self.max_steps)
        models = [comps.unet] + (list(comps.text_encoders) if self.train_te else [])
        prepared = self.accel.prepare(*models, self.optimizer)
        self.unet = prepared[0]
        self.text_encoders = list(prepared[1:-1]) if self.train_te else list(comps.text_encoders)
        self.text_encoder = self.text_encoders[0]
        self.optimizer = prepared[-1]
        self.unet.train()
        for te in self.text_encoders:
            te.train(self.train_te)
        if not self.train_te and not self.rules.varies:
            self._cache_text_embeddings()
        log.info("%d images (%d with repeats), %d reg images, %d batches/epoch, %d steps/epoch,"
                 " %d steps, %d epochs, device %s, precision %s", len(self.plan.train_items),
                 self.plan.num_train_images(), len(self.plan.reg_items),
                 self.batches_per_epoch, self.steps_per_epoch, self.max_steps, self.epochs,
                 self.device, precision)
        ranks = self._ranks(digest=False)
        if ranks and self.run is not None:
            self.run.set_state("loading", processes=len(ranks), ranks=ranks)
        if self.resume:
            self._load_resume()

    def _encode(self, pixels, seed: int):
        """VAE latents of a [B, 3, H, W] float array, sampled with a generator seeded by `seed`."""
        import torch

        px = torch.from_numpy(pixels).to(self.device, dtype=self.vae_dtype)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        with torch.no_grad():
            dist = self.comps.vae.encode(px).latent_dist
            noise = torch.randn(dist.mean.shape, generator=gen).to(dist.mean.device,
                                                                    dist.mean.dtype)
            latents = dist.mean + dist.std * noise
        return latents * self.comps.vae.config.scaling_factor

    def _skip(self, index: int, exc: D.ImageReadError) -> None:
        """Name an unreadable image once; the run goes on without it."""
        self.skipped.add(index)
        msg = Message(N_("{path}: {reason}; skipped, the run goes on without it"),
                      path=str(exc.path), reason=exc.reason)
        log.warning("%s", msg)
        if self.run is not None:
            self.run.event("skipped", msg, path=str(exc.path), reason=exc.reason)

    def _stand_ins(self, index: int):
        """`index`, then the other images of its bucket (and kind) after it, unskipped."""
        item = self.plan.items[index]
        same = [j for j, it in enumerate(self.plan.items)
                if it.bucket == item.bucket and it.is_reg == item.is_reg]
        k = same.index(index)
        for j in same[k:] + same[:k]:
            if j not in self.skipped:
                yield j
        w, h = item.bucket
        raise D.DatasetError(Message(N_("{path}: no readable image is left in the {size} "
                                        "bucket; check the files named above (train.log)"),
                                     path=str(item.path.parent), size=f"{w}x{h}"))

    def _load_batch(self, indices: list[int]):
        """(indices used, pixels) of a micro-batch. An image that cannot be read any more
        (deleted, truncated) is skipped and its place taken by the next readable image of
        its bucket, so the batch keeps its shape and every process still steps."""
        import numpy as np

        used, arrays = [], []
        for index in indices:
            for j in self._stand_ins(index):
                item = self.plan.items[j]
                try:
                    arrays.append(D.load_pixels(item.path, item.bucket))
                except D.ImageReadError as exc:
                    self._skip(j, exc)
                    continue
                used.append(j)
                break
        return used, np.stack(arrays)

    def _cache_latents(self) -> None:
        """Encode every image once; unreadable ones are skipped and leave the plan."""
        t0 = time.perf_counter()
        latents: dict[int, Any] = {}
        for i, item in enumerate(self.plan.items):
            self._check_stop()
            try:
                pixels = D.load_pixels(item.path, item.bucket)[None]
            except D.ImageReadError as exc:
                self._skip(i, exc)
                continue
            latents[i] = self._encode(pixels, self.cfg.training.seed * 100_003 + i)[0] \
                .to(self.weight_dtype)
        if self.skipped:
            kept = sorted(latents)
            self.plan.items = [self.plan.items[i] for i in kept]
            latents = {new: latents[old] for new, old in enumerate(kept)}
            self.skipped = set()
            if not self.plan.train_items:
                raise D.DatasetError(Message(N_("{path}: none of the training images can be "
                                                "read; see the files named in train.log"),
                                             path=str(self.cfg.dataset.dir)))
        self.latents = latents
        log.info("cached %d latents in %.1f s", len(self.latents), time.perf_counter() - t0)

    # ------------------------------------------------------------------ step
    def _tokenize(self, captions: list[str]) -> tuple:
        """One id tensor per text encoder (the family's tokenizers)."""
        return self.cond.tokenize(captions)

    def _input_ids(self, indices: list[int], items: list[D.Item]) -> tuple:
        """Token ids for this micro-batch: per step when captions change (shuffle, dropout,
        label pollution), else tokenised once per image, as diffusers' example does."""
        import torch

        if not self.rules.varies:
            cache = self._ids_cache
            missing = [i for i in indices if i not in cache]
            if missing:
                ids = self._tokenize([self.plan.items[i].caption for i in missing])
                for k, i in enumerate(missing):
                    cache[i] = tuple(t[k] for t in ids)
            return tuple(torch.stack([cache[i][e] for i in indices])
                         for e in range(len(cache[indices[0]])))
        seed = self.cfg.training.seed
        # the batch's place in the whole epoch, whichever process trains it
        position = self.micro_in_epoch * self.accel.num_processes + self.accel.process_index
        return self._tokenize([self.rules.apply(it.caption, D.step_rng(
            seed, self.epoch, position * 1000 + k), it.is_reg)
            for k, it in enumerate(items)])

    def _cache_text_embeddings(self) -> None:
        """Frozen text encoders and fixed captions: encode every caption once (the memory
        saver of SDXL guides; the encoders then leave the GPU)."""
        import torch

        t0 = time.perf_counter()
        for i in range(len(self.plan.items)):
            with torch.no_grad():
                hidden, pooled = self.cond.encode(self.text_encoders, self._input_ids([i], []))
            self._embeds_cache[i] = (hidden[0], None if pooled is None else pooled[0])
        if self.device.type == "cuda":
            for te in self.text_encoders:
                te.to("cpu")
            torch.cuda.empty_cache()
        log.info("cached %d text-encoder outputs in %.1f s", len(self._embeds_cache),
                 time.perf_counter() - t0)

    def _conditioning(self, indices: list[int], items: list[D.Item]):
        """(prompt embeds, pooled embeds or None) for this micro-batch."""
        import torch

        if self._embeds_cache:
            rows = [self._embeds_cache[i] for i in indices]
            pooled = None if rows[0][1] is None else torch.stack([r[1] for r in rows])
            return torch.stack([r[0] for r in rows]), pooled
        with torch.set_grad_enabled(self.train_te):
            return self.cond.encode(self.text_encoders, self._input_ids(indices, items))

    def micro_step(self, indices: list[int], seed: int, *, boundary: bool = True,
                   accumulate: int = 1):
        """Forward + backward of one micro-batch, and the optimiser step when `boundary`
        (the last micro-batch of an accumulation group). Returns the loss, averaged over
        the processes when there are several (their decision to stop travels with it)."""
        import torch
        import torch.nn.functional as F

        cfg = self.cfg
        if self.latents:
            latents = torch.stack([self.latents[i] for i in indices]).to(self.device)
        else:
            indices, pixels = self._load_batch(indices)
            latents = self._encode(pixels, seed).to(self.weight_dtype)
        items = [self.plan.items[i] for i in indices]
        gen = torch.Generator(device="cpu").manual_seed(seed)
        noise = torch.randn(latents.shape, generator=gen)
        if cfg.training.noise_offset:
            noise += cfg.training.noise_offset * torch.randn(
                (latents.shape[0], latents.shape[1], 1, 1), generator=gen)
        sched = self.comps.noise_scheduler
        timesteps = torch.randint(0, sched.config.num_train_timesteps, (latents.shape[0],),
                                  generator=gen)
        noise = noise.to(self.device, latents.dtype)
        timesteps = timesteps.to(self.device)
        noisy = sched.add_noise(latents, noise, timesteps)
        sync = contextlib.ExitStack()
        if not boundary:  # several GPUs: all-reduce the gradients only at the group's end
            sync.enter_context(self.accel.no_sync(self.unet))
            if self.train_te:
                for te in self.text_encoders:
                    sync.enter_context(self.accel.no_sync(te))
        with sync:
            hidden, pooled = self._conditioning(indices, items)
            hidden = hidden.to(self.device)
            if cfg.model.v_prediction:
                target = sched.get_velocity(latents, noise, timesteps)
            else:
                target = noise
            extra = self.cond.unet_kwargs(items, pooled, self.device, hidden.dtype)
            pred = self.unet(noisy, timesteps, hidden, return_dict=False, **extra)[0]
            per_sample = F.mse_loss(pred.float(), target.float(), reduction="none") \
                .mean(dim=[1, 2, 3])
            if any(it.is_reg for it in items):  # prior preservation (P26)
                weights = torch.tensor([cfg.dataset.prior_loss_weight if it.is_reg else 1.0
                                        for it in items], device=per_sample.device)
                per_sample = per_sample * weights
            loss = per_sample.mean()
            if self.faults.nan_at_step is not None and self.step + 1 >= self.faults.nan_at_step:
                loss = loss * float("nan")
            shared = self._share(loss.detach())
            if not torch.isfinite(shared):  # on any process: all stop before the backward
                return shared
            if self.faults.oom_at_step is not None and self.step + 1 >= self.faults.oom_at_step:
                raise _oom_error_types()[0]("CUDA out of memory. Tried to allocate 2.00 GiB "
                                            "(injected by the test)")
            self.accel.backward(loss / accumulate)
        if boundary:
            if self.cfg.optimizer.max_grad_norm > 0:
                self.accel.clip_grad_norm_(self.unet_params + self.te_params,
                                           self.cfg.optimizer.max_grad_norm)
            self.optimizer.step()
            self.lr_scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
        return shared

    def _share(self, loss):
        """One process: `loss` as it is. Several: one all-gather of (loss, stop asked) from
        every process; sets `rank_losses` and `stop_asked` (the same on every process, so
        all stop at the same step) and returns the mean loss."""
        import torch

        asked = bool(self.signals.requested) if getattr(self, "signals", None) else False
        if self.accel.num_processes == 1:
            self.stop_asked, self.rank_losses = asked, None
            return loss
        mine = torch.stack([loss.float().reshape(()),
                            torch.tensor(float(asked), device=loss.device)])
        every = self.accel.gather(mine[None].to(self.device)).reshape(-1, 2).cpu()
        self.rank_losses = [float(v) for v in every[:, 0]]
        self.stop_asked = bool(every[:, 1].sum() > 0)
        return every[:, 0].mean()

    # ------------------------------------------------------------------ run
    def train(self) -> TrainResult:
        """Set up (unless done) and train; never raises for expected failures."""
        from loratui.train.safety import StopSignals

        oom = _oom_error_types()
        with StopSignals() as signals:
            self.signals = signals
            try:
                if not hasattr(self, "accel"):
                    self.setup()
                return self._loop()
            except TrainingStopped as exc:
                return self._fail(exc.reason, message_of(exc))
            except StopRequested as exc:
                return self._fail("signal", Message(
                    N_("{signal} before training began; nothing new to save"), signal=str(exc)),
                                  state="interrupted")
            except oom as exc:
                return self._oom(exc)
            except D.DatasetError as exc:
                return self._fail("dataset", message_of(exc))
            except KeyboardInterrupt:
                return self._fail("interrupted",
                                  Message(N_("stopped by a second Ctrl-C before saving")),
                                  state="interrupted")
            except Exception as exc:
                from loratui.train.models import ModelLoadError

                if isinstance(exc, ModelLoadError):
                    return self._fail("model", message_of(exc))
                log.exception("training failed")
                return self._fail("error", f"{type(exc).__name__}: {exc}")
            finally:
                if hasattr(self, "trackers"):
                    self.trackers.finish()

    def _loop(self) -> TrainResult:

        cfg, tr = self.cfg, self.cfg.training
        self._state("running", max_steps=self.max_steps, epochs=self.epochs,
                    started_at=self.started_at, pid=__import__("os").getpid())
        if self.run is not None:
            self.run.event("resumed" if self.resume else "started",
                           Message(N_("step {step}/{max_steps}"), step=self.step,
                                   max_steps=self.max_steps), step=self.step,
                           max_steps=self.max_steps)
            self._start_trackers()
        t_start = time.perf_counter()
        t_last = t_start
        start_epoch = max(1, self.epoch)
        for epoch in range(start_epoch, self.epochs + 1):
            if epoch != self.epoch:
                self.epoch, self.micro_in_epoch = epoch, 0
            batches = D.rank_batches(D.epoch_batches(self.plan, tr.batch_size, tr.seed, epoch),
                                     self.accel.process_index, self.accel.num_processes)
            if self.micro_in_epoch >= len(batches):
                continue  # finished (and checkpointed) before a resume
            step_losses: list[float] = []
            rank_losses: list[list[float]] = []
            images = 0
            epoch_first = len(self.losses)
            while self.micro_in_epoch < len(batches) and self.step < self.max_steps:
                batch = batches[self.micro_in_epoch]
                self.multiplier = dynamic_multiplier(cfg, self.step + 1, self.max_steps)
                if cfg.tricks.dynamic_weight.enabled:
                    from loratui.train.lora import set_multiplier

                    set_multiplier([self.comps.unet, *self.comps.text_encoders],
                                   self.multiplier)
                # each process draws its own noise and timesteps: (seed, process, micro-step)
                seed = tr.seed * 1_000_003 + self.micro_total * self.accel.num_processes \
                    + self.accel.process_index
                ga = tr.gradient_accumulation
                group_start = self.micro_in_epoch // ga * ga
                group = min(ga, len(batches) - group_start)
                boundary = self.micro_in_epoch - group_start == group - 1
                loss = self.micro_step(batch, seed, boundary=boundary, accumulate=group)
                loss_value = float(loss.item())
                if not math.isfinite(loss_value):
                    return self._nan(loss_value)
                step_losses.append(loss_value)
                if self.rank_losses is not None:
                    rank_losses.append(self.rank_losses)
                images += len(batch) * self.accel.num_processes
                self.micro_in_epoch += 1
                self.micro_total += 1
                if not boundary:
                    continue
                self.step += 1
                now = time.perf_counter()
                self._metric(step_losses, images, now - t_last, now - t_start, rank_losses)
                t_last, step_losses, rank_losses, images = now, [], [], 0
                if self.stop_asked or (self.accel.num_processes == 1
                                       and self.signals.requested):
                    return self._interrupted()
            epoch_done = self.micro_in_epoch >= len(batches)
            if epoch_done and len(self.losses) > epoch_first:
                self.trackers.log(epoch_scalars(self.losses[epoch_first:]), epoch)
            if self.step >= self.max_steps:
                break
            if epoch_done:
                self._end_of_epoch(epoch)
                t_last = time.perf_counter()  # saving and sampling are not step time
        return self._finish()

    def _metric(self, losses: list[float], images: int, dt: float, since_start: float,
                rank_losses: list[list[float]] | None = None) -> None:
        import torch

        loss = sum(losses) / len(losses)
        self.losses.append(loss)
        self.loss_avg = loss if self.loss_avg is None else EMA * self.loss_avg + (1 - EMA) * loss
        lrs = self.lr_scheduler.get_last_lr()
        done_here = max(1, self.step - self._resume_step)
        eta = since_start / done_here * (self.max_steps - self.step)
        row: dict[str, Any] = {
            "step": self.step, "epoch": self.epoch, "loss": loss, "loss_avg": self.loss_avg,
            "lr_unet": lrs[0], "lr_te": lrs[1] if len(lrs) > 1 else 0.0,
            "sec_per_step": dt, "images_per_sec": images / dt if dt > 0 else None,
            "eta_s": eta, "max_steps": self.max_steps, "time": utc_now(),
        }
        if self.cfg.tricks.dynamic_weight.enabled:
            row["lora_scale"] = self.multiplier
        if rank_losses:  # several processes: `loss` is their mean; each one's own here
            row["rank_losses"] = [sum(col) / len(col) for col in zip(*rank_losses, strict=True)]
        if torch.cuda.is_available() and self.device.type == "cuda":
            mib = 2 ** 20
            row.update(mem_allocated_mb=torch.cuda.memory_allocated() / mib,
                       mem_reserved_mb=torch.cuda.memory_reserved() / mib,
                       mem_peak_mb=torch.cuda.max_memory_allocated() / mib)
        else:
            row.update(mem_allocated_mb=None, mem_reserved_mb=None, mem_peak_mb=None)
        if self.run is not None:
            self.run.metric(row)
            self.trackers.log(step_scalars(row, text_encoder=self.train_te), self.step)
            if self.step == 1 or self.step % 10 == 0 or self.step == self.max_steps:
                self.run.set_state("running", step=self.step, epoch=self.epoch)
        if self.step == 1 or self.step % 25 == 0:
            log.info("step %d/%d epoch %d loss %.4f (avg %.4f) %.2f s/step", self.step,
                     self.max_steps, self.epoch, loss, self.loss_avg, dt)

    _resume_step = 0

    def _start_trackers(self) -> None:
        """TensorBoard / wandb (`training.log_with`); one that cannot start is a warning."""
        for warning in self.trackers.start(step=self.step, run_name=self.run.path.name,
                                           config=self.cfg.model_dump(mode="json")):
            log.warning("%s", warning)
            self.run.event("warning", warning)

    # ------------------------------------------------------------------ saving
    def _end_of_epoch(self, epoch: int) -> None:
        cfg = self.cfg
        last = epoch >= self.epochs
        if cfg.output.dir and self.run is not None and not last:
            n = cfg.training.save_every_n_epochs
            if n and epoch % n == 0:
                self._check_ranks()
                self._checkpoint(epoch)
        every = cfg.sample.every_n_epochs
        if every and epoch % every == 0 and not last:
            self._samples(f"e{epoch:04d}")

    def _need_disk(self, path: Path) -> None:
        from loratui.train.export import estimate_export_bytes
        from loratui.train.safety import check_free_disk

        need = 3 * estimate_export_bytes(self.comps.unet, self.comps.text_encoders, "no")
        problem = check_free_disk(path, need)
        if problem:
            raise TrainingStopped("disk", problem)

    def _checkpoint(self, epoch: int) -> None:
        if self.run is None or not self.main:
            return
        from loratui.train import resume

        self._state("saving")
        self._need_disk(self.run.path)
        path = self.run.path / "checkpoints" / f"{self.cfg.output.name}-e{epoch:04d}.safetensors"
        state = self.run.path / "checkpoints" / resume.epoch_state_name(epoch)
        self._write(path, lambda: self._export(path))
        self._write(state, lambda: self._save_resume(state.name))
        # the state written at an earlier stop is older than this one now
        shutil.rmtree(self.run.path / "checkpoints" / "resume", ignore_errors=True)
        resume.prune_epoch_states(self.run.path / "checkpoints")
        self.last_checkpoint = path
        self.run.event("checkpoint", path.name, path=str(path), step=self.step, epoch=epoch,
                       state=state.name)
        log.info("saved checkpoints/%s", path.name)
        self._state("running")

    def _write(self, target: Path, write) -> None:
        """Run a checkpoint write; a full disk (or any OS error) stops the run with a message
        naming the file, and what was saved before stays as it was."""
        try:
            write()
        except OSError as exc:
            good = Message(N_("the last good checkpoint, {name}, is kept"),
                           name=self.last_checkpoint.name) if self.last_checkpoint else \
                Message(N_("earlier files are kept"))
            raise TrainingStopped("disk", Message(
                N_("{path}: cannot be written ({error}); {kept}. Free some disk space (or "
                   "change output.dir), then resume with {command}"), path=str(target),
                error=str(exc.strerror or exc), kept=good,
                command=f"`loratui train --resume {self.run.path}`")) from exc

    def _export(self, path: Path) -> Path:
        from loratui.train.export import export_lora, tag_frequency

        info = {
            "session_id": self.session_id, "started_at": self.started_at,
            "num_train_images": self.plan.num_train_images(),
            "num_reg_images": len(self.plan.reg_items),
            "num_batches_per_epoch": self.batches_per_epoch, "epoch": self.epoch,
            "num_epochs": self.epoch,  # run so far (a max_steps or a stop ends it early)
            "steps": self.step, "max_steps": self.max_steps,
            "tag_frequency": tag_frequency(self.plan.captions_by_dir()),
            "dataset_dirs": self.plan.dataset_dirs(), "bucket_info": self.plan.bucket_info(),
        }
        tes = list(self.comps.text_encoders) if self.train_te else None
        return export_lora(path, self.comps.unet, tes, self.cfg, info,
                           multiplier=self.multiplier, family=self.family)

    def _save_resume(self, name: str = "resume") -> None:
        from loratui.train import resume

        counters = {"step": self.step, "epoch": self.epoch, "micro_in_epoch": self.micro_in_epoch,
                    "micro_total": self.micro_total, "loss_avg": self.loss_avg,
                    "started_at": self.started_at, "session_id": self.session_id,
                    "max_steps": self.max_steps, "num_processes": self.accel.num_processes,
                    "saved_at": utc_now()}
        resume.save(self.run.path / "checkpoints" / name, models=self._resume_models(),
                    optimizer=self.optimizer, counters=counters)

    def _resume_models(self) -> dict[str, Any]:
        models: dict[str, Any] = {"unet": self.comps.unet}
        for slot, te in zip(self.family.text_encoders, self.comps.text_encoders, strict=True):
            models[slot.attr] = te if self.train_te else None
        return models

    def _load_resume(self) -> None:
        """Restore the newest intact state. A damaged one (its file named) is passed over for
        the next older epoch state, and the run says so."""
        from loratui.train import resume

        folders = resume.state_folders(self.run.path / "checkpoints") if self.run else []
        if not folders:
            raise TrainingStopped("resume", Message(
                N_("{path}: no resumable state (checkpoints/resume*/) in this run"),
                path=str(self.run.path) if self.run else "?"))
        models = self._resume_models()
        per_process = math.ceil(self.batches_per_epoch / self.accel.num_processes)

        def check(fields, path):
            resume.check_counters(fields, path, max_steps=self.max_steps, epochs=self.epochs,
                                  steps_per_epoch=self.steps_per_epoch,
                                  micro_per_epoch=per_process,
                                  num_processes=self.accel.num_processes)

        damaged: list[str] = []
        for folder in folders:
            self._check_stop()
            try:
                c = resume.load(folder, models=models, optimizer=self.optimizer, check=check)
            except resume.StateError as exc:
                damaged.append(message_of(exc))
                log.warning("resume state damaged: %s", exc)
                if self.run is not None:
                    self.run.event("warning", Message(N_("resume state damaged: {problem}"),
                                                      problem=message_of(exc)),
                                   path=str(exc.path))
                continue
            break
        else:
            raise TrainingStopped("resume", Message(N_("no intact resume state: {problems}"),
                                                    problems=joined(damaged)))
        self.step, self.epoch = c["step"], c["epoch"]
        self.micro_in_epoch, self.micro_total = c["micro_in_epoch"], c["micro_total"]
        self.loss_avg, self._resume_step = c.get("loss_avg"), c["step"]
        self.started_at = c.get("started_at", self.started_at)
        self.session_id = c.get("session_id", self.session_id)
        self._fast_forward_schedule(self.step)
        kept = self.run.truncate_metrics(self.step) if self.run else 0
        if damaged:
            msg = Message(N_("resumed from the older state checkpoints/{state} (step {step}) "
                             "because {problem}"), state=folder.name, step=self.step,
                          problem=damaged[0])
            log.warning("%s", msg)
            if self.run is not None:
                self.run.event("resume_fallback", msg, state=folder.name, step=self.step,
                               damaged=damaged)
        log.info("resumed at step %d (epoch %d) from checkpoints/%s; %d metric rows kept",
                 self.step, self.epoch, folder.name, kept)

    def _fast_forward_schedule(self, step: int) -> None:
        """Put the LR schedule at `step` in one go (diffusers' schedules are LambdaLR: the LR
        is a pure function of the step); any other scheduler is stepped, checking signals."""
        import warnings

        from torch.optim.lr_scheduler import LambdaLR

        sched = self.lr_scheduler
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if isinstance(sched, LambdaLR) and step > 0:
                sched.last_epoch = step - 1
                sched.step()
                return
            for n in range(step):
                if n % 10_000 == 0:
                    self._check_stop()
                sched.step()

    def _check_stop(self) -> None:
        """Before the loop: a SIGINT / SIGTERM during loading, caching or a resume stops the
        run now (there is nothing new to save)."""
        signals = getattr(self, "signals", None)
        if signals is not None and signals.requested:
            raise StopRequested(signals.requested)

    def _samples(self, tag: str) -> list[Path]:
        cfg = self.cfg
        if self.run is None or not self.main or not cfg.sample.every_n_epochs:
            return []
        from loratui.train.sample import render_samples, sample_prompts

        if self.prompts is None:
            first = self.plan.train_items[0].caption if self.plan.train_items else ""
            self.prompts = sample_prompts(cfg, first)
        paths = render_samples(self.comps, self.accel.unwrap_model(self.unet),
                               self.comps.text_encoders, self.prompts,
                               folder=self.run.path / "samples", tag=tag,
                               resolution=cfg.dataset.resolution, steps=cfg.sample.steps,
                               seed=cfg.sample.seed, device=self.device)
        self.run.event("sample", Message.ngettext("{n} sample image", "{n} sample images",
                                                  len(paths)),
                       paths=[str(p) for p in paths], step=self.step, epoch=self.epoch,
                       prompts=self.prompts)
        return paths

    # ------------------------------------------------------------------ processes
    def _ranks(self, *, digest: bool) -> list[dict[str, Any]] | None:
        """Several processes: each one's rank, pid, host, step and (with `digest`) a digest of
        its LoRA weights, gathered as tensors (no pickle). A collective: every process calls
        it at the same point. None for a single process."""
        if self.accel.num_processes == 1:
            return None
        import hashlib
        import os
        import socket

        import torch

        value = 0
        if digest:
            h = hashlib.sha256()
            for p in self.unet_params + self.te_params:
                h.update(p.detach().float().cpu().numpy().tobytes())
            value = int.from_bytes(h.digest()[:7], "big")
        host = list(socket.gethostname().encode("utf-8")[:64].ljust(64, b"\0"))
        row = torch.tensor([self.accel.process_index, os.getpid(), self.step, self.micro_total,
                            value, *host], dtype=torch.int64)
        every = self.accel.gather(row[None].to(self.device)).reshape(
            self.accel.num_processes, -1).cpu().tolist()
        return [{"rank": r[0], "pid": r[1], "step": r[2], "micro_total": r[3],
                 "lora_digest": f"{r[4]:014x}" if digest else None,
                 "host": bytes(r[5:]).rstrip(b"\0").decode("utf-8", "replace")}
                for r in sorted(every)]

    def _check_ranks(self) -> None:
        """Several processes: record each one's step and weight digest in state.json and stop
        every process if their LoRA weights differ (they must stay identical)."""
        ranks = self._ranks(digest=True)
        if not ranks:
            return
        if self.run is not None and self.main:
            self.run.set_state(self.run.raw_state().get("state", "running"), ranks=ranks)
        if len({r["lora_digest"] for r in ranks}) > 1 or len({r["step"] for r in ranks}) > 1:
            ranks_said = [Message(N_("rank {rank} step {step} weights {digest}"),
                                  rank=r["rank"], step=r["step"], digest=r["lora_digest"])
                          for r in ranks]
            raise TrainingStopped("processes", Message(
                N_("the training processes went out of step: {ranks}"),
                ranks=joined(ranks_said, N_("{first}, {second}"))))

    # ------------------------------------------------------------------ endings
    def _state(self, state: str, **fields: Any) -> None:
        if self.run is not None:
            self.run.set_state(state, step=self.step, **fields)

    def _finish(self) -> TrainResult:
        self.accel.wait_for_everyone()
        self._check_ranks()
        lora_path = None
        if self.run is not None and self.main:
            self._state("saving")
            self._need_disk(self.run.path)
            state = self.run.path / "checkpoints" / "resume"
            self._write(state, self._save_resume)  # before the LoRA: readers take the newest
            lora_path = self.run.path / f"{self.cfg.output.name}.safetensors"
            self._write(lora_path, lambda: self._export(lora_path))
            self._samples(f"final_e{self.epoch:04d}")
            self.run.event("finished", Message.ngettext("{name} after {n} step",
                                                        "{name} after {n} steps", self.step,
                                                        name=lora_path.name),
                           path=str(lora_path), step=self.step)
            self.run.set_state("finished", step=self.step, lora=str(lora_path),
                               finished_at=utc_now())
            log.info("finished: %s", lora_path)
        return TrainResult("finished", self.step, self.max_steps, lora_path,
                           self.run.path if self.run else None, losses=self.losses)

    def _interrupted(self) -> TrainResult:
        sig = self.signals.requested or Message(N_("stop asked on another process"))
        self._check_ranks()
        if self.run is not None and self.main:
            state = self.run.path / "checkpoints" / "resume"
            self._write(state, self._save_resume)
            self.run.event("interrupted", Message(
                N_("{signal} at step {step}; resume with `{command}`"), signal=sig,
                step=self.step, command=f"loratui train --resume {self.run.path}"),
                signal=sig, step=self.step)
            self.run.set_state("interrupted", step=self.step, signal=sig)
        log.warning("%s: saved a resumable state at step %d", sig, self.step)
        return TrainResult("interrupted", self.step, self.max_steps, None,
                           self.run.path if self.run else None, reason="signal",
                           message=Message(N_("{signal} at step {step}"), signal=sig,
                                           step=self.step), losses=self.losses)

    def _nan(self, value: float) -> TrainResult:
        cfg = self.cfg
        lr = cfg.optimizer.unet_lr
        hint = Message(N_("the loss became non-finite: lower optimizer.unet_lr (now {lr}) / "
                          "text_encoder_lr, use mixed_precision = \"bf16\" or \"no\" instead "
                          "of fp16, keep training.no_half_vae = true (P14, P15)"), lr=f"{lr:g}")
        msg = Message(N_("loss = {loss} at step {step}; stopped before applying it"),
                      loss=str(value), step=self.step + 1)
        if self.run is not None and self.main:
            self.run.event("nan", msg, step=self.step + 1, loss=str(value), lr_unet=lr,
                           lr_te=cfg.optimizer.text_encoder_lr,
                           mixed_precision=cfg.training.mixed_precision,
                           no_half_vae=cfg.training.no_half_vae, hint=hint,
                           last_good_checkpoint=str(self.last_checkpoint)
                           if self.last_checkpoint else None, refs=["P14", "P15", "P8"])
        log.error("%s. %s", msg, hint)
        return self._fail("nan", Message(N_("{problem}. {hint}"), problem=msg, hint=hint),
                          event=False)

    def _oom(self, exc: BaseException) -> TrainResult:
        from loratui.train.oom import suggestion

        self._release()
        text, preset = suggestion(self.cfg)
        msg = Message(N_("out of GPU memory ({error}). {advice}"),
                      error=str(exc).splitlines()[0][:200], advice=text)
        if self.run is not None and self.main:
            self.run.event("oom", msg, step=self.step, suggested_preset=preset,
                           refs=["P12", "P14", "P32"])
        log.error("%s", msg)
        return self._fail("oom", msg, event=False)

    def _release(self) -> None:
        import torch

        for attr in ("unet", "text_encoder", "text_encoders", "optimizer", "latents", "comps",
                     "_embeds_cache"):
            if hasattr(self, attr):
                setattr(self, attr, None)
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _fail(self, reason: str, message: str, *, state: str = "failed",
              event: bool = True) -> TrainResult:
        if self.run is not None and getattr(self, "main", True):
            if event:
                self.run.event("failed" if state == "failed" else state, message, reason=reason,
                               step=self.step)
            self.run.set_state(state, step=self.step, error=message, reason=reason,
                               finished_at=utc_now())
        if event:
            log.error("%s", message)
        return TrainResult(state, self.step, getattr(self, "max_steps", 0), None,
                           self.run.path if self.run else None, reason=reason, message=message,
                           losses=self.losses)

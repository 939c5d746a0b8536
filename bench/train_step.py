"""Training-step speed: loratui's step against a minimal diffusers-example loop.

Both run in this process on the same tiny SD1.5-shaped model, resolution, batch, LoRA
targets (kohya's 12 per transformer block + the CLIP text encoder), rank, optimiser and
cached latents; rounds alternate (ours, reference, ours, ...) so machine noise hits both,
and the ratio of the medians is printed. Target: ratio <= 1.05.

The reference is written the way diffusers' `examples/text_to_image/train_text_to_image_lora.py`
does it: tokenised captions prepared once, `accelerator.accumulate`, `randn_like` noise,
`torch.randint` timesteps, MSE, `accelerator.backward`, clip, step, schedule, zero_grad.

Peak RSS of each side is measured in a child process of its own (`--only ours|reference`).
With a CUDA GPU, `--gpu` also times a full-size SD1.5 UNet (random weights from its config)
at 512 px, batch 1, fp16, and compares peak memory with the preset's estimate.

    python bench/train_step.py                 # tiny model, 128 px, batch 2
    python bench/train_step.py --res 64 --batch 1 --steps 40 --rounds 7
    python bench/train_step.py --gpu           # adds the full-size UNet figures (CUDA only)
    python bench/train_step.py --family sdxl   # tiny SDXL vs diffusers' SDXL LoRA example
    python bench/train_step.py --trackers      # a run's per-step record, TensorBoard on / off

SDXL: the reference follows `examples/text_to_image/train_text_to_image_lora_sdxl.py`: both
text encoders' penultimate hidden states concatenated, the second's pooled output, and
`add_time_ids` (original size, crop top-left, target size) in `added_cond_kwargs`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loratui.train.quiet import set_quiet_env  # noqa: E402

set_quiet_env()


def make_setup(tmp: Path, res: int, batch: int, rank: int, family: str = "sd15"):
    from loratui.config import RunConfig
    from loratui.tiny import build_tiny_model, write_demo_dataset

    model, data = tmp / "model", tmp / "data"
    if not (model / "model_index.json").is_file():  # children reuse the parent's files
        build_tiny_model(model, extra_words=["sks"], family=family)
        write_demo_dataset(data, "sks")
    cfg = RunConfig.model_validate({
        "model": {"base": str(model)},
        "dataset": {"dir": str(data), "resolution": res, "trigger_word": "sks"},
        "network": {"rank": rank, "alpha": float(rank), "train_text_encoder": True},
        "optimizer": {"unet_lr": 1e-4, "text_encoder_lr": 5e-5},
        "training": {"batch_size": batch, "gradient_accumulation": 1, "mixed_precision": "no",
                     "gradient_checkpointing": False, "cache_latents": True, "seed": 0},
        "output": {"dir": str(tmp / "runs")},
    })
    return cfg


class Ours:
    """loratui's step. With `record`, also what a real run does after each step: the
    metrics.jsonl row, state.json now and then, and the trackers of `training.log_with`."""

    def __init__(self, cfg, record: str | None = None, folder: Path | None = None):
        from loratui.train.loop import Trainer

        run = None
        if record is not None:
            from loratui.train.runfolder import RunWriter

            cfg = cfg.model_copy(deep=True)
            cfg.training.log_with = record
            run = RunWriter.create(cfg, folder)
        self.t = Trainer(cfg, run)
        self.t.setup()
        self.t.epoch = 1
        if run is not None:
            self.t.trackers.start(step=0, run_name=run.path.name, config={})
        self.batches = [b for b in __import__("loratui.train.data", fromlist=["x"])
                        .epoch_batches(self.t.plan, cfg.training.batch_size, 0, 1)
                        if len(b) == cfg.training.batch_size]
        self.k = 0
        self.t0 = self.t_last = time.perf_counter()

    def step(self) -> float:
        batch = self.batches[self.k % len(self.batches)]
        self.k += 1
        loss = float(self.t.micro_step(batch, seed=self.k))
        if self.t.run is not None:
            now = time.perf_counter()
            self.t.step += 1
            self.t.max_steps = max(self.t.max_steps, self.t.step)
            self.t._metric([loss], len(batch), now - self.t_last, now - self.t0)
            self.t_last = now
        return loss


def encode_latents(cfg) -> list:
    import torch
    from diffusers import AutoencoderKL

    from loratui.train.data import load_pixels, plan_dataset

    vae = AutoencoderKL.from_pretrained(cfg.model.base, subfolder="vae")
    with torch.no_grad():
        return [vae.encode(torch.from_numpy(load_pixels(it.path, it.bucket))[None])
                .latent_dist.sample()[0] * vae.config.scaling_factor
                for it in plan_dataset(cfg).items]


class Reference:
    """A minimal loop in the diffusers example's style, on the same components."""

    def __init__(self, cfg, latents: list | None = None):
        import torch
        from accelerate import Accelerator
        from diffusers import DDPMScheduler, UNet2DConditionModel
        from diffusers.optimization import get_scheduler
        from peft import LoraConfig, inject_adapter_in_model
        from transformers import CLIPTextModel, CLIPTokenizer

        from loratui.train.lora import TE_TARGET_BLOCKS, UNET_TARGET_BLOCKS, target_module_names

        base = cfg.model.base
        self.accelerator = Accelerator(gradient_accumulation_steps=1, cpu=True)
        self.noise_scheduler = DDPMScheduler.from_pretrained(base, subfolder="scheduler")
        tokenizer = CLIPTokenizer.from_pretrained(base, subfolder="tokenizer")
        self.text_encoder = CLIPTextModel.from_pretrained(base, subfolder="text_encoder")
        self.unet = UNet2DConditionModel.from_pretrained(base, subfolder="unet")
        self.unet.requires_grad_(False)
        self.text_encoder.requires_grad_(False)
        r = cfg.network.rank
        self.unet.add_adapter(LoraConfig(
            r=r, lora_alpha=r, init_lora_weights=True,
            target_modules=target_module_names(self.unet, UNET_TARGET_BLOCKS)))
        inject_adapter_in_model(LoraConfig(
            r=r, lora_alpha=r, init_lora_weights=True,
            target_modules=target_module_names(self.text_encoder, TE_TARGET_BLOCKS)),
            self.text_encoder, "default")
        self.params = [p for p in self.unet.parameters() if p.requires_grad]
        te_params = [p for p in self.text_encoder.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW([{"params": self.params, "lr": cfg.optimizer.unet_lr},
                                       {"params": te_params,
                                        "lr": cfg.optimizer.text_encoder_lr}],
                                      weight_decay=1e-2)
        self.params += te_params
        self.lr_scheduler = get_scheduler("constant", optimizer=optimizer)
        self.unet, self.text_encoder, self.optimizer = self.accelerator.prepare(
            self.unet, self.text_encoder, optimizer)
        self.unet.train()
        self.text_encoder.train()
        ids = tokenizer(["sks, a girl with red hair, smiling"] * cfg.training.batch_size,
                        max_length=tokenizer.model_max_length, padding="max_length",
                        truncation=True, return_tensors="pt").input_ids
        self.input_ids = ids
        if latents is None:  # encode once with the VAE, as a cache would
            latents = encode_latents(cfg)
        b = cfg.training.batch_size
        self.batches = [torch.stack(latents[i:i + b]) for i in range(0, len(latents) - b + 1, b)]
        self.k = 0

    def step(self) -> float:
        import torch
        import torch.nn.functional as F

        latents = self.batches[self.k % len(self.batches)]
        self.k += 1
        with self.accelerator.accumulate(self.unet):
            noise = torch.randn_like(latents)
            bsz = latents.shape[0]
            timesteps = torch.randint(0, self.noise_scheduler.config.num_train_timesteps,
                                      (bsz,), device=latents.device).long()
            noisy = self.noise_scheduler.add_noise(latents, noise, timesteps)
            pred = self.predict(noisy, timesteps)
            loss = F.mse_loss(pred.float(), noise.float(), reduction="mean")
            self.accelerator.backward(loss)
            if self.accelerator.sync_gradients:
                self.accelerator.clip_grad_norm_(self.params, 1.0)
            self.optimizer.step()
            self.lr_scheduler.step()
            self.optimizer.zero_grad()
        return float(loss.detach().item())

    def predict(self, noisy, timesteps):
        hidden = self.text_encoder(self.input_ids, return_dict=False)[0]
        return self.unet(noisy, timesteps, hidden, return_dict=False)[0]


class ReferenceSDXL(Reference):
    """diffusers' SDXL LoRA example loop on the same tiny SDXL components."""

    def __init__(self, cfg, latents: list | None = None):
        import torch
        from accelerate import Accelerator
        from diffusers import DDPMScheduler, UNet2DConditionModel
        from diffusers.optimization import get_scheduler
        from peft import LoraConfig, inject_adapter_in_model
        from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

        from loratui.train.lora import TE_TARGET_BLOCKS, UNET_TARGET_BLOCKS, target_module_names

        base = cfg.model.base
        self.accelerator = Accelerator(gradient_accumulation_steps=1, cpu=True)
        self.noise_scheduler = DDPMScheduler.from_pretrained(base, subfolder="scheduler")
        toks = [CLIPTokenizer.from_pretrained(base, subfolder=s) for s in ("tokenizer",
                                                                          "tokenizer_2")]
        tes = [CLIPTextModel.from_pretrained(base, subfolder="text_encoder"),
               CLIPTextModelWithProjection.from_pretrained(base, subfolder="text_encoder_2")]
        self.unet = UNet2DConditionModel.from_pretrained(base, subfolder="unet")
        self.unet.requires_grad_(False)
        r = cfg.network.rank
        self.unet.add_adapter(LoraConfig(
            r=r, lora_alpha=r, init_lora_weights=True,
            target_modules=target_module_names(self.unet, UNET_TARGET_BLOCKS)))
        groups = [{"params": [p for p in self.unet.parameters() if p.requires_grad],
                   "lr": cfg.optimizer.unet_lr}]
        for te in tes:
            te.requires_grad_(False)
            inject_adapter_in_model(LoraConfig(
                r=r, lora_alpha=r, init_lora_weights=True,
                target_modules=target_module_names(te, TE_TARGET_BLOCKS)), te, "default")
            groups.append({"params": [p for p in te.parameters() if p.requires_grad],
                           "lr": cfg.optimizer.text_encoder_lr})
        self.params = [p for g in groups for p in g["params"]]
        optimizer = torch.optim.AdamW(groups, weight_decay=1e-2)
        self.lr_scheduler = get_scheduler("constant", optimizer=optimizer)
        self.unet, te1, te2, self.optimizer = self.accelerator.prepare(self.unet, *tes, optimizer)
        self.text_encoders = [te1, te2]
        self.unet.train()
        for te in self.text_encoders:
            te.train()
        b = cfg.training.batch_size
        self.input_ids = [t(["sks, a girl with red hair, smiling"] * b,
                            max_length=t.model_max_length, padding="max_length",
                            truncation=True, return_tensors="pt").input_ids for t in toks]
        latents = latents if latents is not None else encode_latents(cfg)
        res = cfg.dataset.resolution
        self.add_time_ids = torch.tensor([[res, res, 0, 0, res, res]] * b, dtype=torch.float32)
        self.batches = [torch.stack(latents[i:i + b]) for i in range(0, len(latents) - b + 1, b)]
        self.k = 0

    def predict(self, noisy, timesteps):
        import torch

        embeds = []
        for te, ids in zip(self.text_encoders, self.input_ids, strict=True):
            out = te(ids, output_hidden_states=True, return_dict=False)
            pooled = out[0]
            embeds.append(out[-1][-2])
        prompt_embeds = torch.cat(embeds, dim=-1)
        return self.unet(noisy, timesteps, prompt_embeds, return_dict=False,
                         added_cond_kwargs={"text_embeds": pooled,
                                            "time_ids": self.add_time_ids})[0]


def timed(fn, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_rss(which: str, args, workdir: Path) -> dict | None:
    cmd = [sys.executable, __file__, "--only", which, "--res", str(args.res), "--batch",
           str(args.batch), "--rank", str(args.rank), "--steps", str(args.steps),
           "--family", args.family, "--workdir", str(workdir)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(out.stderr[-2000:], file=sys.stderr)
        return None


def gpu_full_size(steps: int = 20) -> dict | None:
    """it/s and peak memory of a full-size SD1.5 UNet LoRA step at 512 px, batch 1, fp16."""
    import torch

    if not torch.cuda.is_available():
        return None
    from diffusers import UNet2DConditionModel

    from loratui.presets import load_presets
    from loratui.train.lora import add_unet_lora, lora_parameters
    from loratui.train.models import sd15_config_dir

    cfg = json.loads((sd15_config_dir() / "unet" / "config.json").read_text())
    unet = UNet2DConditionModel.from_config(cfg).to("cuda", torch.float16)
    unet.requires_grad_(False)
    add_unet_lora(unet, 8, 8)
    unet.enable_gradient_checkpointing()
    params = lora_parameters(unet)
    for p in params:
        p.data = p.data.float()
    opt = torch.optim.AdamW(params, lr=1e-4)
    latents = torch.randn(1, 4, 64, 64, device="cuda", dtype=torch.float16)
    hidden = torch.randn(1, 77, 768, device="cuda", dtype=torch.float16)
    scaler = torch.amp.GradScaler("cuda")

    def step():
        t = torch.randint(0, 1000, (1,), device="cuda")
        with torch.autocast("cuda", dtype=torch.float16):
            pred = unet(latents, t, hidden, return_dict=False)[0]
            loss = torch.nn.functional.mse_loss(pred.float(), latents.float())
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / steps
    peak = torch.cuda.max_memory_allocated() / 2**30
    eight = next(p for p in load_presets() if not p.cpu and p.min_vram_gb == 8
                 and p.kind == "character" and p.family == "sd15")
    return {"gpu": torch.cuda.get_device_name(0), "it_per_s": 1 / dt, "peak_gb": peak,
            "preset": eight.id, "preset_estimate_gb": eight.estimate().total_gb,
            "note": "UNet only (TE and VAE not loaded), gradient checkpointing, rank 8"}


def trackers_bench(cfg, args, tmp: Path) -> int:
    """Steps with the run's record and TensorBoard against the record alone, alternating."""
    sides = {name: Ours(cfg, record=name, folder=tmp / name) for name in ("tensorboard", "none")}
    for side in sides.values():
        timed(side.step, 3)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in sides}
    for k in range(args.rounds):
        order = list(sides) if k % 2 == 0 else list(reversed(sides))
        for name in order:
            times[name].append(timed(sides[name].step, args.steps))
    for side in sides.values():
        side.t.trackers.finish()
    best = {name: min(t) for name, t in times.items()}
    median_ratio = statistics.median(a / b for a, b in zip(times["tensorboard"], times["none"],
                                                           strict=True))
    result = {"date": time.strftime("%Y-%m-%d"), "family": args.family, "res": args.res,
              "batch": args.batch, "steps_per_round": args.steps, "rounds": args.rounds,
              "tensorboard_ms": best["tensorboard"] * 1000, "none_ms": best["none"] * 1000,
              "ratio": best["tensorboard"] / best["none"], "median_round_ratio": median_ratio,
              "target": 1.05}
    print(f"record + TensorBoard {result['tensorboard_ms']:.1f} ms/step, record alone "
          f"{result['none_ms']:.1f} ms/step (best rounds), ratio {result['ratio']:.3f}, median "
          f"round ratio {median_ratio:.3f} (target <= 1.05)", file=sys.stderr)
    print(json.dumps(result))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5, help="steps per round")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--only", choices=("ours", "reference"))
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--family", choices=("sd15", "sdxl"), default="sd15",
                    help="tiny model shape and reference loop (default sd15)")
    ap.add_argument("--no-rss", action="store_true", help="skip the child RSS runs")
    ap.add_argument("--trackers", action="store_true",
                    help="instead: a run's per-step record with TensorBoard against without "
                    "(training.log_with = tensorboard / none)")
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    import torch

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = args.workdir or tmp
        cfg = make_setup(Path(tmp), args.res, args.batch, args.rank, args.family)
        RefLoop = ReferenceSDXL if args.family == "sdxl" else Reference
        if args.only:
            side = Ours(cfg) if args.only == "ours" else RefLoop(cfg)
            timed(side.step, args.steps)
            import psutil

            print(json.dumps({"peak_rss_mb": peak_rss_mb(),
                              "rss_mb": psutil.Process().memory_info().rss / 2**20}))
            return 0
        if args.trackers:
            return trackers_bench(cfg, args, Path(tmp))
        ours = Ours(cfg)
        ref = RefLoop(cfg, [ours.t.latents[i] for i in sorted(ours.t.latents)])
        timed(ours.step, 3)
        timed(ref.step, 3)  # warm-up
        t_ours, t_ref = [], []
        for k in range(args.rounds):  # alternate who goes first
            first, second = (ours, ref) if k % 2 == 0 else (ref, ours)
            a, b = timed(first.step, args.steps), timed(second.step, args.steps)
            t_ours.append(a if first is ours else b)
            t_ref.append(b if first is ours else a)
        rss = {}
        if not args.no_rss:
            # peak: process maximum (imports included); rss: resident after the steps
            rss = {"memory_ours": child_rss("ours", args, Path(tmp)),
                   "memory_reference": child_rss("reference", args, Path(tmp))}
    # Other processes only ever add time, so the best round of each side is the cleanest
    # figure on a shared machine; the median of the per-round ratios is printed beside it.
    m_ours, m_ref = min(t_ours), min(t_ref)
    median_ratio = statistics.median(a / b for a, b in zip(t_ours, t_ref, strict=True))
    result = {
        "date": time.strftime("%Y-%m-%d"), "family": args.family, "res": args.res, "batch": args.batch,
        "rank": args.rank, "steps_per_round": args.steps, "rounds": args.rounds,
        "threads": torch.get_num_threads(), "ours_ms": m_ours * 1000, "ref_ms": m_ref * 1000,
        "ratio": m_ours / m_ref, "median_round_ratio": median_ratio, "target": 1.05,
    }
    result.update(rss)
    if args.gpu:
        result["gpu_full_size"] = gpu_full_size() or "no CUDA GPU"
    print(f"{args.family} res {args.res} batch {args.batch} rank {args.rank}: ours {m_ours * 1000:.1f} ms/step,"
          f" reference {m_ref * 1000:.1f} ms/step (best rounds), ratio {result['ratio']:.3f}, "
          f"median round ratio {median_ratio:.3f} "
          f"(target <= 1.05){'' if result['ratio'] <= 1.05 else '  ABOVE TARGET'}",
          file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`loratui demo`: a complete demo project (in ./loratui-demo/ unless --dir), trained on the CPU."""

from __future__ import annotations

import argparse
import sys

from loratui.cli import add_command
from loratui.i18n import N_, _, ngettext

DEFAULT_DIR = "loratui-demo"  # its own folder: model/ dataset/ runs/ … stay out of the cwd

EPILOG = N_("""\
examples:
  loratui demo                            demo project in ./loratui-demo/, then the wizard
  loratui demo --headless                 the same flow in the terminal, no UI
  loratui demo --headless --dir /tmp/demo
  loratui demo --family sdxl --headless   the same with a tiny SDXL-shaped model
then:
  loratui runs --config loratui-demo/loratui.toml
  loratui attach <run folder>
""")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "demo", help=_("build a tiny model + dataset and train a LoRA on the CPU"),
                    epilog=EPILOG)
    p.add_argument("--dir", default=DEFAULT_DIR, metavar="PATH",
                   help=_("where to create the demo project (default: ./{folder}/)").format(
                       folder=DEFAULT_DIR))
    p.add_argument("--family", choices=("sd15", "sdxl"), default="sd15",
                   help=_("shape of the tiny model: SD1.5 (default) or SDXL (two text encoders)"))
    p.add_argument("--headless", action="store_true",
                   help=_("run every step in the terminal without the wizard"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from loratui.demo import run_demo
    from loratui.tiny import is_tiny_model

    root = Path(args.dir)
    if (root / "loratui.toml").exists() and not is_tiny_model(root / "model"):
        print("loratui demo: " + _("{folder} already holds a loratui.toml that is not a demo's; "
                                   "choose another folder with --dir PATH").format(
            folder=root.resolve()), file=sys.stderr)
        return 2
    if not args.headless:
        from loratui.cli.wizard_cmd import run_demo_wizard

        return run_demo_wizard(root, family=args.family)
    t0 = time.perf_counter()
    ctx = run_demo(root, family=args.family)
    wall = time.perf_counter() - t0
    if ctx.failed:
        print("loratui demo: " + _("step {step!r} failed after {seconds} s").format(
            step=ctx.failed, seconds=f"{wall:.0f}"), file=sys.stderr)
        return 1
    n = len(ctx.samples)
    print(_("demo done in {seconds} s.").format(seconds=f"{wall:.0f}") + "\n  " +
          _("LoRA:    {path}").format(path=ctx.lora_path) + "\n  " +
          ngettext("samples: {folder} ({n} image)", "samples: {folder} ({n} images)", n).format(
              folder=ctx.run_dir / "samples", n=n) + "\n  " +
          _("config:  {path}").format(path=ctx.config_path) + "\n  " +
          _("inspect: {command}").format(command=f"loratui runs --config {ctx.config_path}"),
          file=sys.stderr)
    print(ctx.lora_path)
    return 0

"""Start training: pre-flight checks, run folder, then the trainer in this process or in a
detached one (its own session, so it outlives a closed SSH connection; when it exits, the
GPU is released — P32)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from loratui.config import load_config
from loratui.i18n import N_, Message
from loratui.runs import STATE_NAMES, RunFolder, find_run
from loratui.train.safety import PreflightError, preflight


@dataclass
class StartResult:
    run: RunFolder
    pid: int | None = None
    exit_code: int | None = None  # set when it ran in the foreground
    warnings: list[str] = field(default_factory=list)


def resolve_resume(ref: str | Path, cfg=None) -> RunFolder:
    run = find_run(ref, cfg.output.dir if cfg is not None else None)
    if run is None:
        raise PreflightError([Message(N_("{ref}: no such run folder (give the path printed by "
                                         "`loratui train`, or a name listed by `loratui "
                                         "runs`)"), ref=str(ref))])
    if run.is_active():
        raise PreflightError([Message(N_("{path}: this run is still {state} (pid {pid}); "
                                         "`loratui attach` follows it"), path=str(run.path),
                                      state=Message(STATE_NAMES.get(run.status, run.status)),
                                      pid=run.raw_state().get("pid"))])
    if not run.resumable():
        raise PreflightError([Message(N_("{path}: no resumable state (checkpoints/resume*/ is "
                                         "written at each checkpoint and when a run is "
                                         "interrupted)"), path=str(run.path))])
    return run


def prepare_run(config_path: str | Path | None, *, resume: str | Path | None = None):
    """(cfg, RunWriter) after the pre-flight checks; raises PreflightError/ConfigError."""
    from loratui.train.runfolder import RunWriter

    if resume is not None:
        base_cfg = _as_config(config_path) if config_path else None
        run = resolve_resume(resume, base_cfg)
        cfg = load_config(run.config_path)  # the run's own resolved config
        problems = preflight(cfg)
        if problems:
            raise PreflightError(problems)
        writer = RunWriter(run.path)
        writer.set_state("starting", pid=None, error=None, ranks=None)
        return cfg, writer
    cfg = _as_config(config_path)
    problems = preflight(cfg)
    if problems:
        raise PreflightError(problems)
    return cfg, RunWriter.create(cfg)


def _as_config(config):
    """A RunConfig as it is (paths should be absolute), or one loaded from a TOML path."""
    from loratui.config import RunConfig

    return config if isinstance(config, RunConfig) else load_config(config)


def train_in_process(cfg, run_dir=None, *, resume: bool = False, faults=None,
                     log_to_stderr: bool = True):
    """Run the trainer here. `run_dir` None → a new run folder under cfg.output.dir."""
    from loratui.train.loop import Trainer
    from loratui.train.runfolder import RunWriter, setup_logging

    if run_dir is None:
        problems = preflight(cfg)
        if problems:
            raise PreflightError(problems)
        run = RunWriter.create(cfg)
    else:
        run = RunWriter(run_dir)
    run.set_state("starting", pid=os.getpid())
    setup_logging(run, to_file=True, to_stderr=log_to_stderr)
    run.write_environment({"mode": "in-process"})
    return Trainer(cfg, run, resume=resume, faults=faults).train()


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_command(run_dir: Path | str, processes: int, *, resume: bool = False,
                  port: int | None = None) -> list[str]:
    """accelerate's own launcher for `processes` trainer processes on this machine (one per
    GPU; gloo over the CPU when there is none). A free port per group, so that two runs on
    one machine do not meet on accelerate's default 29500."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
           "--num_processes", str(processes), "--num_machines", "1", "--machine_rank", "0",
           "--main_process_ip", "127.0.0.1", "--main_process_port", str(port or free_port()),
           "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "loratui.train.worker", str(run_dir), "--detached"]
    return [*cmd, "--resume"] if resume else cmd


def saved_processes(run: RunFolder) -> int:
    """How many processes trained this run (1 unless a group did)."""
    n = run.raw_state().get("processes")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def start(config_path, *, resume=None, detach: bool = True, gpus: int | None = None
          ) -> StartResult:
    """Pre-flight, run folder, then train detached (default) or here. `config_path` is a
    loratui.toml path or a RunConfig; raises PreflightError / ConfigError before anything
    starts. `gpus` > 1 starts a group of processes through `accelerate launch` (a resumed
    run takes the number it was trained with unless `gpus` says otherwise)."""
    cfg, run = prepare_run(config_path, resume=resume)
    if gpus is None:
        gpus = saved_processes(run) if resume is not None else 1
    if gpus < 1:
        raise PreflightError([Message(N_("--gpus {n}: give 1 or more processes"), n=gpus)])
    if gpus > 1:
        cmd = group_command(run.path, gpus, resume=resume is not None)
    elif not detach:
        result = train_in_process(cfg, run.path, resume=resume is not None)
        return StartResult(run, os.getpid(), result.exit_code)
    else:
        cmd = [sys.executable, "-m", "loratui.train.worker", str(run.path), "--detached"]
        if resume is not None:
            cmd.append("--resume")
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    if not detach:  # a group in this terminal: the launcher's output comes here
        code = subprocess.run(cmd, env=env, cwd=str(run.path)).returncode
        return StartResult(run, os.getpid(), _group_exit(run, code))
    with open(run.log_path, "ab") as log_fh, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(cmd, stdin=devnull, stdout=log_fh, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, env=env,
                                cwd=str(run.path))
    run.set_state("starting", pid=proc.pid, launcher_pid=proc.pid if gpus > 1 else None,
                  processes=gpus)
    return StartResult(run, proc.pid)


def _group_exit(run: RunFolder, launcher_code: int) -> int:
    """The trainer's exit code for a group: from state.json (the launcher says 0 or 1)."""
    return {"finished": 0, "interrupted": 130}.get(run.state()["state"], launcher_code or 1)

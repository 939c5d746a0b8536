"""Real-shaped pastes (tests/doctor/cases/pastes/*.txt): every faulty one is diagnosed with
the refs its header expects, clean ones full of benign noise raise nothing; and the
command finder reads every shape users paste commands in."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loratui.doctor.inputs.commands import best_command, find_commands, split_args

from .helpers import run_doctor, write

PASTES = Path(__file__).parent / "cases" / "pastes"


def read_case(path: Path) -> tuple[dict[str, str], str]:
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n----\n")
    assert sep, f"{path.name}: no `----` line ends the header"
    meta = {}
    for line in head.splitlines():
        key, _, value = line.lstrip("# ").partition(":")
        meta[key.strip()] = value.strip()
    return meta, body


def _cases():
    return [pytest.param(p, id=p.stem) for p in sorted(PASTES.glob("*.txt"))]


@pytest.mark.parametrize("path", _cases())
def test_paste(path, tmp_path):
    meta, body = read_case(path)
    target = write(tmp_path, meta.get("file") or "paste.txt", body)
    diags, inputs = run_doctor([target])
    assert all(i.error is None for i in inputs), [i.error for i in inputs]
    assert "DR001" not in {d.code for d in diags}, [d.message for d in diags]
    raised = [d for d in diags if d.severity in ("error", "warning")]
    shown = {r for d in raised for r in d.refs}
    if meta["expect"] == "clean":
        assert not raised, [f"{d.code} {d.message}" for d in raised]
    elif meta["expect"] == "unknown":
        # Outside what the doctor knows: it may quote the error, but names no cause.
        assert not shown, [f"{d.code} {d.refs} {d.message}" for d in raised]
    else:
        missing = set(meta["expect"].split()) - shown
        assert not missing, (missing, [f"{d.severity} {d.code} {d.refs} {d.message}"
                                       for d in diags])
    forbidden = set(meta.get("forbid", "").split()) & {r for d in diags for r in d.refs}
    assert not forbidden, (forbidden, [f"{d.code} {d.refs}" for d in diags])
    # Values the paste does not hold: no finding may state them as the user's.
    for text in filter(None, (s.strip() for s in meta.get("unsaid", "").split("|"))):
        said = [f"{d.code} {d.message}" for d in diags if text in str(d.message)]
        assert not said, (text, said)


def test_enough_cases_of_each_kind():
    metas = [read_case(p)[0] for p in PASTES.glob("*.txt")]
    assert len(metas) >= 40
    assert sum(m["expect"] == "clean" for m in metas) >= 10
    assert sum(m["expect"] == "unknown" for m in metas) >= 10


# ------------------------------------------------------------------ command shapes

def _best(text):
    cmd = best_command(find_commands(text))
    assert cmd is not None, text
    return cmd


def test_split_removes_quoting_and_keeps_windows_paths():
    assert split_args('--output_name="my lora" --dir=\'C:\\a b\\c\' --x "" ') == \
        ["--output_name=my lora", "--dir=C:\\a b\\c", "--x", ""]


def test_backslash_caret_and_backtick_continuations():
    for cont in ("\\", "^", "`"):
        cmd = _best(f"accelerate launch train_network.py {cont}\n  --network_dim 32 {cont}\n"
                    "  --network_alpha=16\n")
        assert cmd.args == ["--network_dim", "32", "--network_alpha=16"], cont


def test_powershell_prompt_and_continuation_prompts():
    cmd = _best("PS C:\\lora> accelerate launch train_network.py `\n>>   --xformers `\n"
                ">>   --network_dim=8\n")
    assert cmd.launcher == ["accelerate", "launch"] and cmd.args == ["--xformers",
                                                                     "--network_dim=8"]


def test_notebook_cell():
    cmd = _best("%cd /content/sd-scripts\n!accelerate launch --num_cpu_threads_per_process 1 "
                "train_network.py --network_dim 16\n")
    assert cmd.script == "train_network.py" and cmd.args == ["--network_dim", "16"]


def test_logger_wrapped_command():
    cmd = _best("12:00:00-000001 INFO     accelerate launch \"./train_network.py\" --a=1\n"
                "                         --b=2 --c\n12:00:01-000001 INFO     next\n")
    assert cmd.shape == "logged" and cmd.args == ["--a=1", "--b=2", "--c"]


def test_called_process_error_list():
    cmd = _best("subprocess.CalledProcessError: Command '['C:\\\\v\\\\python.exe', "
                "'C:/s/sdxl_train_network.py', '--config_file', 'C:/c.toml']' returned "
                "non-zero exit status 1.\n")
    assert cmd.shape == "called-process" and cmd.script == "sdxl_train_network.py"
    assert cmd.launcher == ["C:\\v\\python.exe"] and cmd.args == ["--config_file", "C:/c.toml"]


def test_command_quoted_in_an_error_message():
    cmd = _best("Fatal error in launcher: Unable to create process using '\"C:\\v\\python.exe\""
                " \"C:\\v\\accelerate.exe\" launch train_network.py --network_dim=8': ???\n")
    assert cmd.shape == "quoted" and cmd.args == ["--network_dim=8"]


def test_cut_command_is_not_whole():
    assert not _best("accelerate launch train_network.py --network_dim=8 ...\n").whole


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(["accelerate launch", "train_network.py", "--a=1", "\\\n",
                                 "`\n", "^\n", ">> ", "PS C:\\x> ", "!", "'", '"', "Command '[",
                                 "']' returned non-zero exit status 1", "\n", " ", "...",
                                 "INFO ", "        --b", "--network_dim=8 ",
                                 "--pretrained_model_name_or_path x ", "--train_data_dir=d ",
                                 "  --network_module networks.lora"]), max_size=30),
       st.text(max_size=40))
def test_fuzz_find_commands(parts, noise):
    for cmd in find_commands("".join(parts) + noise):
        assert isinstance(cmd.args, list) and cmd.line >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=300))
def test_fuzz_paste_as_log(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("p") / "paste.txt"
    p.write_text("Traceback (most recent call last)\n" + text, encoding="utf-8")
    diags, _ = run_doctor([p])
    assert "DR001" not in {d.code for d in diags}


# ------------------------------------------------------------------ big logs stay small

def test_digest_of_blank_runs_and_its_cap(tmp_path, monkeypatch):
    from loratui.doctor.inputs import log as log_mod

    monkeypatch.setattr(log_mod, "DIGEST_FROM", 1000)
    monkeypatch.setattr(log_mod, "DIGEST_SLICE", 64)
    blank = write(tmp_path, "blank.log", "\n" * 5000 + "CUDA out of memory\n" + "\n" * 100)
    log = log_mod.load_log(blank)
    assert log.contains("CUDA out of memory") and not log.contains("Killed")
    assert log.line_no(log.find("CUDA out of memory")) == 5001
    monkeypatch.setattr(log_mod, "DIGEST_MAX_LINES", 50)  # distinct lines: no digest
    distinct = write(tmp_path, "distinct.log",
                     "".join(f"{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}x\n" for i in range(600))
                     + "Traceback (most recent call last)\n")
    log = log_mod.load_log(distinct)
    assert log.contains("Traceback (most recent call last)") and not log.contains("zzzz")


@pytest.mark.parametrize("block", [5, 64, 1 << 20])
def test_utf16_log_is_decoded_block_by_block(tmp_path, monkeypatch, block):
    from loratui.doctor.inputs import log as log_mod

    monkeypatch.setattr(log_mod, "BLOCK", block)
    text = "INFO start\r\n正則化画像\r\nsteps: 1%|\r\ntorch.cuda.OutOfMemoryError: CUDA out of memory\r\n"
    p = tmp_path / "ps.log"
    p.write_bytes(text.encode("utf-16"))
    log = log_mod.load_log(p)
    assert log.view.replace(b"\r", b"") == text.replace("\r\n", "\n").encode()
    assert log.line_no(log.find("CUDA out of memory")) == 4


# ------------------------------------------------------------------ provenance of facts

def _child_facts(inputs):
    return next(c.facts for i in inputs for c in i.children if c.kind == "cmdline")


def test_a_whole_command_reports_defaults_as_defaults(tmp_path):
    path = write(tmp_path, "train.sh", "accelerate launch train_network.py --network_dim 32 "
                 "--learning_rate 1e-4 --max_train_epochs 10 --output_name \"my lora\"\n")
    diags, inputs = run_doctor([path])
    f = inputs[0].facts
    assert f.complete and f.origin("network_dim") == "user"
    assert f.origin("network_alpha") == "default" and f.get("output_name") == "my lora"
    alpha = next(d for d in diags if d.code == "CF104")
    assert "not set; sd-scripts then uses 1" in alpha.message
    assert "CF131" not in {d.code for d in diags}  # quotes are the shell's, not the name's


def test_an_excerpt_leaves_missing_keys_unknown(tmp_path):
    text = ("steps:   3%|▎         | 30/1000 [00:30<16:10,  1.00it/s, avr_loss=0.09]\n"
            "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
            "KeyError: 'x'\nsubprocess.CalledProcessError: Command '['/v/python', "
            "'train_network.py', '--network_dim=32', '--mixed_precision=fp16']' returned "
            "non-zero exit status 1.\n")
    diags, inputs = run_doctor([write(tmp_path, "paste.txt", text)])
    f = _child_facts(inputs)
    assert not f.complete and f.origin("network_alpha") == "unknown"
    assert f.get("network_alpha") is None and f.get("learning_rate") is None
    shown = {d.code for d in diags}
    # rank 32 is the user's; alpha, learning rate, no_half_vae, attention are unknown here
    assert "CF102" in shown and not shown & {"CF104", "CF107", "CF112", "CF114", "CF126"}
    assert all("sd-scripts then uses" not in d.message for d in diags)


def test_printed_values_beat_computed_ones(tmp_path):
    text = ("accelerate launch train_network.py --network_dim=8 --network_alpha=8 "
            "--max_train_steps=1600 --max_train_epochs=10\n"
            "running training / 学習開始\n  num epochs / epoch数: 3\n"
            "  total optimization steps / 学習ステップ数: 4500\n"
            "steps:   3%|▎         | 30/4500 [00:30<16:10,  1.00it/s, avr_loss=0.09]\n")
    diags, inputs = run_doctor([write(tmp_path, "paste.txt", text)])
    f = _child_facts(inputs)
    assert f.get("max_train_steps") == 4500 and f.get("max_train_epochs") == 3
    assert f.origin("max_train_steps") == "user"
    assert "CF126" not in {d.code for d in diags}  # the trainer says 4500, not 1600


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(["Traceback (most recent call last):\n", "  File \"a.py\", line 3, "
                                 "in save_model\n", "│ x.py:1 in f │\n", "╰──╯\n", "OSError: x\n",
                                 "KeyError: 'a'\n", "Exception ignored in: f\n", "steps: 5%| 1/9 "
                                 "[00:01<00:08, 1.2s/it]\n", "\r", "PermissionError: [Errno 13]\n",
                                 "saving checkpoint: a.safetensors\n", "    x\n", "KeyboardInterrupt\n"]),
                max_size=25))
def test_fuzz_tracebacks(parts):
    from loratui.doctor.inputs.log import LogData
    from loratui.doctor.inputs.tracebacks import final_traceback, tracebacks

    log = LogData("<fuzz>", "".join(parts).encode())
    for tb in tracebacks(log):
        assert tb.line >= 1 and tb.end >= tb.pos
    final_traceback(log)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet="abn_=$ {}%\"'#\n-0123", max_size=120))
def test_fuzz_script_variables(text):
    from loratui.doctor.inputs.commands import assignments, substitute
    from loratui.doctor.inputs.configs import command_facts

    env = assignments(text)
    for token in text.split():
        substitute(token, env)
    command_facts(best_command(find_commands("accelerate launch train_network.py " + text)),
                  text, env)
    assert isinstance(split_args(text), list)


def test_command_in_a_long_log_is_found_through_windows(tmp_path, monkeypatch):
    from loratui.doctor.inputs import paste

    monkeypatch.setattr(paste, "WHOLE_FROM", 1000)
    text = ("INFO noise line\n" * 400 + "accelerate launch train_network.py \\\n"
            "  --network_dim=64 --network_alpha=64\n" + "INFO more noise\n" * 400)
    diags, inputs = run_doctor([write(tmp_path, "train.log", text)])
    f = _child_facts(inputs)
    assert f.get("network_dim") == 64 and f.extra["command_line"] == 401
    assert any(d.code == "CF102" and d.location.line == 402 for d in diags)


def test_rich_wrapped_logged_command():
    text = ("09:12:01-131000 INFO     Executing command:\n"
            "                         D:\\kohya\\venv\\Scripts\\accelerate.EXE launch --dynamo_backend no\n"
            "                         --mixed_precision fp16 --num_processes 1\n"
            "                         D:/kohya/sd-scripts/sdxl_train_network.py --config_file\n"
            "                         D:/lora/config_lora-20240601.toml\n"
            "09:12:02-000000 INFO     next\n")
    cmd = _best(text)
    assert cmd.script == "sdxl_train_network.py" and cmd.line == 1
    assert cmd.args == ["--config_file", "D:/lora/config_lora-20240601.toml"]
    assert cmd.launcher[-4:] == ["--mixed_precision", "fp16", "--num_processes", "1"]


def test_command_whose_script_name_was_cut_off():
    """A paste that keeps only sd-scripts' arguments (one a line, or `\\`-joined) is still
    a command; which script ran is not shown, so it is not whole."""
    for sep in (" \\\n", "\n"):
        text = sep.join(["  --pretrained_model_name_or_path=\"/m/sd_xl_base_1.0.safetensors\"",
                         "  --train_data_dir=\"/data/img\"", "  --network_module=networks.lora",
                         "  --network_dim=256", "  --network_alpha=1"]) + "\n"
        cmd = _best("here is my command\n" + text)
        assert cmd.script == "" and cmd.line == 2, sep
        assert "--network_dim=256" in cmd.args and "--network_alpha=1" in cmd.args
    # other tools' flags are not sd-scripts': no command
    assert best_command(find_commands("--output_dir x --resolution 512 --seed 1\n")) is None
    assert best_command(find_commands("--train_batch_size 1 --learning_rate 1e-4 "
                                      "--output_dir /o\n")) is None


def test_scriptless_command_is_an_excerpt(tmp_path):
    text = ("it stops after caching latents, args:\n"
            "--pretrained_model_name_or_path=/m/sd_xl_base_1.0.safetensors "
            "--train_data_dir=/d --network_module=networks.lora --network_dim=128\n")
    diags, inputs = run_doctor([write(tmp_path, "paste.txt", text)])
    f = inputs[0].facts
    assert inputs[0].kind == "cmdline" and not f.complete
    assert f.origin("network_alpha") == "unknown"  # not sd-scripts' default 1
    found = {d.code for d in diags}
    assert "CF102" in found and "CF104" not in found
    assert "CF125" not in found  # the script (SD1 or SDXL) is not in the paste
    log = write(tmp_path, "run.log", "INFO     prepare tokenizer\n" + text.split("\n", 1)[1]
                + "Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                "torch.cuda.OutOfMemoryError: CUDA out of memory.\n")
    diags, inputs = run_doctor([log])
    assert {"CF102", "LG103"} <= {d.code for d in diags}, [d.code for d in diags]


# ------------------------------------------------------------------ what findings quote

def _messages(tmp_path, name):
    meta, body = read_case(PASTES / f"{name}.txt")
    diags, _ = run_doctor([write(tmp_path, meta.get("file") or "paste.txt", body)])
    return {d.code: str(d.message) for d in diags}


def test_findings_quote_the_error_not_the_source_line_that_raised_it(tmp_path):
    nan = _messages(tmp_path, "lora-scripts-nan-latents-ansi-zh")["LG102"]
    assert "NaN detected in latents: C:\\aa\\image\\40_aa\\1.png" in nan
    assert "{info.absolute_path}" not in nan and "1 line" in nan
    loha = _messages(tmp_path, "a1111-bad-lora-layer-loha")["LG170"]
    assert "hada_w1_a" in loha and "{key_diffusers}" not in loha


def test_quote_markers_and_timestamps_before_log_lines_are_read_through(tmp_path):
    assert "(RuntimeError: NaN detected" in _messages(tmp_path, "quoted-reply-nan-latents")["LG102"]
    assert "(Killed)" in _messages(tmp_path, "docker-timestamps-killed")["LG133"]


# ------------------------------------------------------------------ the same paste, wrapped

def _crlf_ansi(body: str) -> str:
    return "".join(f"\x1b[0m{line}\x1b[0m\r\n" if line.strip() else "\r\n"
                   for line in body.split("\n"))


def _fenced(body: str) -> str:
    return "Here is my log:\n\n```shell\n" + body.rstrip("\n") + "\n```\n\nThanks for any help.\n"


def _quoted(body: str) -> str:
    return "".join(f"> {line}\n" for line in body.split("\n"))


def _stamped(body: str) -> str:
    return "".join(f"2024-06-01T10:22:{i % 60:02d}.{i:06d}Z {line}\n"
                   for i, line in enumerate(body.split("\n")))


@pytest.mark.parametrize("wrap", [_crlf_ansi, _fenced, _quoted, _stamped],
                         ids=["crlf-ansi", "fenced", "quoted", "stamped"])
def test_every_paste_reads_the_same_when_wrapped(wrap, tmp_path):
    """Users paste through terminals, forums and log collectors: colour codes and CRLF, a
    markdown fence with prose around it, a reply's `> ` quote, a collector's stamps. The
    diagnosis of each text paste must not change."""
    wrong = []
    for path in sorted(PASTES.glob("*.txt")):
        meta, body = read_case(path)
        name = meta.get("file") or "paste.txt"
        if not name.endswith((".txt", ".log")):
            continue
        target = tmp_path / path.stem / name
        target.parent.mkdir()
        target.write_text(wrap(body), encoding="utf-8", newline="")
        diags, _ = run_doctor([target])
        raised = {r for d in diags if d.severity in ("error", "warning") for r in d.refs}
        if meta["expect"] in ("clean", "unknown"):
            if raised:
                wrong.append((path.stem, "raised", sorted(raised)))
        elif set(meta["expect"].split()) - raised:
            wrong.append((path.stem, "missed", sorted(set(meta["expect"].split()) - raised)))
    assert not wrong, wrong

"""Hostile inputs through the real `loratui` command: never a traceback, never a lost file.

Each refusal is exit 2 with one line on stderr that names the file and says what to do.
The table below holds one case per class of bad input found by a torture pass; the
tests after it cover what a table row cannot (files kept, backups, valid JSON)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

DEEP = 100_000    # brackets: far past Python's recursion limit


def loratui(*args, cwd=None):
    env = {**os.environ, "LORATUI_FAKE_GPU": "", "COLUMNS": "200"}
    env.pop("LORATUI_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "loratui", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, timeout=120)


def safetensors_bytes(header: dict | bytes, data: bytes = b"") -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def deep_json() -> str:
    return '{"a": ' + "[" * DEEP + "]" * DEEP + "}"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def run_config(tmp: Path, base: str, extra: str = "") -> Path:
    """A loratui.toml whose dataset and output folders exist (so only `base` is bad)."""
    (tmp / "imgs").mkdir(exist_ok=True)
    return write(tmp / "loratui.toml", f'[model]\nbase = "{base}"\n[dataset]\ndir = "imgs"\n'
                 f'[output]\ndir = "runs"\n{extra}')


def _lora_inspect_deep(tmp):
    f = write(tmp / "deep.safetensors", safetensors_bytes(deep_json().encode()))
    return ["lora", "inspect", f], "deep.safetensors"


def _lora_inspect_overlap(tmp):
    t = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    f = write(tmp / "overlap.safetensors", safetensors_bytes({"a": t, "b": t}, b"\0" * 8))
    return ["lora", "inspect", f], "overlap"


def _tensor(dtype="F32", shape=(1,), start=0, end=4):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [start, end]}


def _lora_inspect_header(name, header, data=b"\0" * 4):
    def case(tmp):
        raw = header if isinstance(header, bytes) else json.dumps(header).encode()
        return ["lora", "inspect", write(tmp / "x.safetensors", safetensors_bytes(raw, data))], \
            name
    return case


def _lora_blocks_checkpoint(tmp):
    t = {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}
    f = write(tmp / "model.safetensors", safetensors_bytes(
        {"model.diffusion_model.out.2.bias": t,
         "first_stage_model.quant_conv.bias": {**t, "data_offsets": [4, 8]}}, b"\0" * 8))
    return ["lora", "blocks", f], "no LoRA modules (checkpoint file)"


def _lora_tool_many_tensors(command):
    """A crafted header listing more tensors than any real file (20,001 one-byte ones)."""
    def case(tmp):
        n = 20_001
        header = {f"lora_unet_m{i}.alpha": _tensor("U8", (), i, i + 1) for i in range(n)}
        f = write(tmp / "many.safetensors", safetensors_bytes(header, b"\0" * n))
        extra = ["--to", "peft"] if command == "convert" else []
        return ["lora", command, f, *extra], "20,001 tensors"
    return case


def _lora_inspect_folder(tmp):
    (tmp / "x.safetensors").mkdir()
    return ["lora", "inspect", tmp / "x.safetensors"], "a folder"


def _lora_resize_pipe(tmp):
    os.mkfifo(tmp / "x.safetensors")                          # opening it waits for a writer
    return ["lora", "resize", tmp / "x.safetensors", "--rank", "2", "-o", tmp / "o.safetensors"], \
        "pipe"


def _lora_merge_loop(tmp):
    (tmp / "x.safetensors").symlink_to("x.safetensors")
    return ["lora", "merge", tmp / "x.safetensors", tmp / "x.safetensors", "--weights", "1,1",
            "-o", tmp / "o.safetensors"], "link loop"


def _lora_inspect_dangling(tmp):
    (tmp / "x.safetensors").symlink_to("gone/real.safetensors")
    return ["lora", "inspect", tmp / "x.safetensors"], "gone/real.safetensors"


def _doctor_deep_json(tmp):
    return ["doctor", write(tmp / "kohya.json", deep_json())], "kohya.json"


def _doctor_deep_toml(tmp):
    return ["doctor", write(tmp / "config.toml", "a = " + "[" * DEEP + "]" * DEEP)], \
        "config.toml"


def _import_deep_json(tmp):
    return ["config", "import", write(tmp / "kohya.json", deep_json()), "-o",
            tmp / "out.toml"], "kohya.json"


def _import_deep_toml(tmp):
    f = write(tmp / "sd.toml", "a = " + "[" * DEEP + "]" * DEEP)
    return ["config", "import", f, "-o", tmp / "out.toml"], "sd.toml"


def _import_deep_tables(tmp):
    f = write(tmp / "tables.toml", "[" + ".".join(["a"] * 5000) + "]\nx = 1\n")
    return ["config", "import", f, "-o", tmp / "out.toml"], "tables.toml"


def _import_subsets_string(tmp):
    f = write(tmp / "dataset.toml", '[[datasets]]\nresolution = 512\nsubsets = "imgs"\n')
    return ["config", "import", f, "-o", tmp / "out.toml"], "dataset.toml"


def _import_datasets_strings(tmp):
    f = write(tmp / "dataset.toml", 'datasets = ["a", 1]\n')
    return ["config", "import", f, "-o", tmp / "out.toml"], "dataset.toml"


def _import_subset_number(tmp):
    f = write(tmp / "dataset.toml", "[[datasets]]\nsubsets = [5]\n")
    return ["config", "import", f, "-o", tmp / "out.toml"], "subsets[0]"


def _import_general_number(tmp):
    f = write(tmp / "dataset.toml", "general = 5\n[[datasets]]\n[[datasets.subsets]]\n"
              'image_dir = "x"\n')
    return ["config", "import", f, "-o", tmp / "out.toml"], "general"


def _import_dataset_option(tmp):
    main = write(tmp / "config.toml", "network_dim = 8\n")
    ds = write(tmp / "ds.toml", "[[datasets]]\nsubsets = 3\n")
    return ["config", "import", main, "--dataset", ds, "-o", tmp / "out.toml"], "ds.toml"


def _import_utf16_garbage(tmp):
    return ["config", "import", write(tmp / "k.json", b"\xff\xfe\x00"), "-o",
            tmp / "out.toml"], "k.json"


def _check_duplicate_key(tmp):
    f = write(tmp / "loratui.toml", "[training]\nseed = 1\nseed = 2\n")
    return ["config", "check", f], "line 3"


def _train_duplicate_key(tmp):
    f = run_config(tmp, "m.safetensors", "[network]\nrank = 8\nrank = 16\n")
    return ["train", f, "--no-start"], "loratui.toml"


def _train_nan_doctor(tmp):
    f = run_config(tmp, "m.safetensors", "[doctor]\nmax_rank = nan\n")
    return ["train", f, "--no-start"], "doctor.max_rank"


def _check_not_utf8(tmp):
    f = write(tmp / "loratui.toml", b"[output]\nname = \"caf\xe9\"\n")
    return ["config", "check", f], "UTF-8"


def _check_utf16_odd(tmp):
    return ["config", "check", write(tmp / "loratui.toml", b"\xff\xfe[\x00x")], "UTF-16"


def _train_pickle_base(tmp):
    write(tmp / "m.safetensors", b"\x80\x04\x95" + b"\0" * 64)
    return ["train", run_config(tmp, "m.safetensors"), "--no-start"], "pickle"


def _train_random_base(tmp):
    write(tmp / "m.safetensors", bytes(range(256)) * 4)
    return ["train", run_config(tmp, "m.safetensors"), "--no-start"], "m.safetensors"


def _train_lfs_base(tmp):
    write(tmp / "m.safetensors", "version https://git-lfs.github.com/spec/v1\n"
          "oid sha256:4c2b\nsize 4265380512\n")
    return ["train", run_config(tmp, "m.safetensors"), "--no-start"], "LFS"


def _train_overlap_base(tmp):
    t = {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}
    write(tmp / "m.safetensors", safetensors_bytes({"x": t, "y": t}, b"\0" * 8))
    return ["train", run_config(tmp, "m.safetensors"), "--no-start"], "overlap"


def _train_folder_lfs_weights(tmp):
    write(tmp / "model" / "model_index.json", '{"_class_name": "StableDiffusionPipeline"}')
    write(tmp / "model" / "unet" / "diffusion_pytorch_model.safetensors",
          "version https://git-lfs.github.com/spec/v1\noid sha256:1\nsize 3\n")
    return ["train", run_config(tmp, "model"), "--no-start"], "diffusion_pytorch_model"


def _train_folder_only_bin(tmp):
    write(tmp / "model" / "model_index.json", '{"_class_name": "StableDiffusionPipeline"}')
    write(tmp / "model" / "text_encoder" / "pytorch_model.bin", b"\x80\x02}q\x00.")
    return ["train", run_config(tmp, "model"), "--no-start"], "pytorch_model.bin"


def _watch_link_loop(tmp):
    (tmp / "train.log").symlink_to("train.log")
    return ["watch", tmp / "train.log", "--once"], "leads back to itself"


def _watch_dangling_link(tmp):
    (tmp / "train.log").symlink_to("gone/train.log")
    return ["watch", tmp / "train.log", "--once"], "gone/train.log"


def _lora_output_not_a_file(kind):
    """`--overwrite` onto a pipe (copying it for a backup would wait forever) or a folder."""
    def case(tmp):
        m = "lora_unet_down_blocks_0_attentions_0_proj_in"
        t = {"dtype": "F16", "shape": [4, 8], "data_offsets": [0, 64]}
        f = write(tmp / "in.safetensors", safetensors_bytes(
            {f"{m}.lora_down.weight": t, f"{m}.lora_up.weight": {
                **t, "shape": [8, 4], "data_offsets": [64, 128]}}, b"\0\x3c" * 64))
        out = tmp / "out.safetensors"
        os.mkfifo(out) if kind == "pipe" else out.mkdir()
        return ["lora", "convert", f, "--to", "peft", "-o", out, "--overwrite"], \
            "a pipe" if kind == "pipe" else "a folder"
    return case


def _lora_odd_shapes(command, shapes, expected):
    """A LoRA whose tensors carry LoRA names but impossible shapes (scalars, rank 0, an
    alpha of several values): the tools refuse it in one line."""
    def case(tmp):
        m, header, offset = "lora_unet_down_blocks_0_attentions_0_proj_in", {}, 0
        for side, shape in shapes.items():
            n = 2
            for d in shape:
                n *= d
            header[f"{m}.{side}"] = {"dtype": "F16", "shape": shape,
                                     "data_offsets": [offset, offset + n]}
            offset += n
        f = write(tmp / "odd.safetensors", safetensors_bytes(header, b"\0\x3c" * (offset // 2)))
        extra = {"convert": ["--to", "peft"], "resize": ["--rank", "2"],
                 "scale": ["--weight", "0.5"]}[command]
        return ["lora", command, f, *extra, "-o", tmp / "out.safetensors"], expected
    return case


def _lora_resize_nan(tmp):
    m = "lora_unet_down_blocks_0_attentions_0_proj_in"
    t = {"dtype": "F16", "shape": [4, 8], "data_offsets": [0, 64]}
    f = write(tmp / "nan.safetensors", safetensors_bytes(
        {f"{m}.lora_down.weight": t, f"{m}.lora_up.weight": {**t, "shape": [8, 4],
                                                              "data_offsets": [64, 128]}},
        b"\x00\x7e" * 32 + b"\x00\x3c" * 32))                   # F16 NaN, then 1.0
    return ["lora", "resize", f, "--rank", "2", "-o", tmp / "out.safetensors"], "NaN"


def _link_case(command, name, target, expected):
    """`command` on a link `name` → `target` that leads nowhere (a loop or a dangling link)."""
    def case(tmp):
        (tmp / name).symlink_to(target)
        return [*command, tmp / name], expected
    return case


def _attach_missing(tmp):
    return ["attach", tmp / "nope"], "nope"


def _check_device(tmp):
    return ["config", "check", "/dev/zero"], "/dev/zero"      # reading it never ends


def _doctor_pipe(tmp):
    os.mkfifo(tmp / "pipe.toml")                              # opening it waits for a writer
    return ["doctor", tmp / "pipe.toml"], "pipe.toml"


def _import_pipe(tmp):
    os.mkfifo(tmp / "pipe.json")
    return ["config", "import", tmp / "pipe.json", "-o", tmp / "out.toml"], "pipe.json"


def _import_into_a_folder(tmp):
    (tmp / "target").mkdir()
    return ["config", "import", write(tmp / "k.json", "{}"), "-o", tmp / "target"], "target"


def _export_onto_a_file(tmp):
    cfg = write(tmp / "loratui.toml", "[network]\nrank = 8\n")
    return ["config", "export", cfg, "--out", cfg], "is a file"


def _prepare_empty_folder(tmp):
    (tmp / "empty").mkdir()
    return ["dataset", "prepare", tmp / "empty", "--out", tmp / "copy"], "no image files"


CASES = {
    "lora inspect: nested safetensors header": _lora_inspect_deep,
    "lora inspect: overlapping tensor offsets": _lora_inspect_overlap,
    "lora inspect: a folder named .safetensors": _lora_inspect_folder,
    "lora blocks: a base checkpoint": _lora_blocks_checkpoint,
    "lora resize: a named pipe": _lora_resize_pipe,
    "lora merge: a symbolic link loop": _lora_merge_loop,
    "lora inspect: a link to nothing": _lora_inspect_dangling,
    "lora inspect: header is a JSON list": _lora_inspect_header("not an object", b"[1, 2]"),
    "lora inspect: NaN in the header": _lora_inspect_header(
        "NaN", b'{"__metadata__": {"a": NaN}, "t": {"dtype": "F32", "shape": [1], '
        b'"data_offsets": [0, 4]}}'),
    "lora inspect: metadata not a string": _lora_inspect_header(
        "ss_network_dim", {"__metadata__": {"ss_network_dim": 8}, "t": _tensor()}),
    "lora inspect: metadata a list": _lora_inspect_header(
        "__metadata__", {"__metadata__": ["a"], "t": _tensor()}),
    "lora inspect: unknown dtype": _lora_inspect_header("F128", {"t": _tensor("F128")}),
    "lora inspect: 20,001 tensors": _lora_tool_many_tensors("inspect"),
    "lora convert: 20,001 tensors": _lora_tool_many_tensors("convert"),
    "lora inspect: zero bytes": lambda tmp: (
        ["lora", "inspect", write(tmp / "x.safetensors", b"")], "empty (0 bytes)"),
    "lora inspect: header length only": lambda tmp: (
        ["lora", "inspect", write(tmp / "x.safetensors", struct.pack("<Q", 0))], "empty"),
    "lora inspect: header length 2**63": lambda tmp: (
        ["lora", "inspect", write(tmp / "x.safetensors", struct.pack("<Q", 2**63) + b"{}")],
        "9223372036854775808"),
    "lora inspect: header not UTF-8": _lora_inspect_header("0xff", b'{"\xff": 1}'),
    "lora inspect: a tensor named twice": _lora_inspect_header(
        "`t` twice", b'{"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
        b'"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', b"\0" * 8),
    "lora inspect: a field named twice": _lora_inspect_header(
        "`dtype` twice", b'{"t": {"dtype": "F32", "dtype": "F16", "shape": [1], '
        b'"data_offsets": [0, 4]}}'),
    "lora inspect: bytes between tensors": _lora_inspect_header(
        "bytes 4–8", {"a": _tensor(), "b": _tensor(start=8, end=12)}, b"\0" * 12),
    "lora inspect: bytes after the last tensor": _lora_inspect_header(
        "not fully covered", {"a": _tensor()}, b"\0" * 12),
    "lora inspect: packed fp4 values": _lora_inspect_header(
        "F4", {"a": _tensor("F4", (4,), 0, 2)}, b"\0" * 2),
    "lora convert: scalar down and up": _lora_odd_shapes(
        "convert", {"lora_down.weight": [], "lora_up.weight": []}, "not two matrices"),
    "lora resize: NaN weights": _lora_resize_nan,
    "lora resize: rank 0": _lora_odd_shapes(
        "resize", {"lora_down.weight": [0, 8], "lora_up.weight": [8, 0]}, "not two matrices"),
    "lora scale: an alpha of three values": _lora_odd_shapes(
        "scale", {"lora_down.weight": [4, 8], "lora_up.weight": [8, 4], "alpha": [3]},
        "alpha holds 3 values"),
    "lora inspect: negative offsets": _lora_inspect_header(
        "impossible offsets", {"t": _tensor(start=-4, end=0)}),
    "lora inspect: shape and bytes disagree": _lora_inspect_header(
        "needs 12", {"t": _tensor(shape=(3,))}),
    "doctor: nested kohya JSON": _doctor_deep_json,
    "doctor: nested TOML": _doctor_deep_toml,
    "config import: nested kohya JSON": _import_deep_json,
    "config import: nested sd-scripts TOML": _import_deep_toml,
    "config import: 5000 nested tables": _import_deep_tables,
    "config import: subsets is a string": _import_subsets_string,
    "config import: datasets holds strings": _import_datasets_strings,
    "config import: a subset is a number": _import_subset_number,
    "config import: general is a number": _import_general_number,
    "config import --dataset: subsets is a number": _import_dataset_option,
    "config import: broken UTF-16": _import_utf16_garbage,
    "config check: duplicate key": _check_duplicate_key,
    "train: duplicate key": _train_duplicate_key,
    "train: NaN in [doctor]": _train_nan_doctor,
    "config check: not UTF-8": _check_not_utf8,
    "config check: odd-length UTF-16": _check_utf16_odd,
    "train: pickle named .safetensors": _train_pickle_base,
    "train: random bytes named .safetensors": _train_random_base,
    "train: git-LFS pointer as model.base": _train_lfs_base,
    "train: overlapping offsets in model.base": _train_overlap_base,
    "train: LFS pointer inside a diffusers folder": _train_folder_lfs_weights,
    "train: diffusers folder with only .bin pickles": _train_folder_only_bin,
    "attach: no such run": _attach_missing,
    "lora convert --overwrite: the output is a pipe": _lora_output_not_a_file("pipe"),
    "lora convert --overwrite: the output is a folder": _lora_output_not_a_file("folder"),
    "watch: a link loop": _watch_link_loop,
    "watch: a link to nothing": _watch_dangling_link,
    "doctor: a link loop": _link_case(["doctor"], "run.toml", "run.toml",
                                      "leads back to itself"),
    "dataset scan: a link to nothing": _link_case(["dataset", "scan"], "imgs", "gone/imgs",
                                                  "gone/imgs, which does not exist"),
    "config check: a link loop": _link_case(["config", "check"], "loratui.toml",
                                            "loratui.toml", "leads back to itself"),
    "config check: a device": _check_device,
    "doctor: a named pipe": _doctor_pipe,
    "config import: a named pipe": _import_pipe,
    "config import: -o is a folder": _import_into_a_folder,
    "config export: --out is a file": _export_onto_a_file,
    "dataset prepare: an empty folder": _prepare_empty_folder,
    "dataset prepare: no such source folder": lambda tmp: (
        ["dataset", "prepare", tmp / "nope", "--out", tmp / "copy"], "nope: no such folder"),
    "dataset prepare: --out cannot be created": lambda tmp: (
        ["dataset", "prepare", tmp, "--out", "/proc/loratui-copy"], "/proc/loratui-copy"),
}


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_is_refused_in_one_line(tmp_path, case):
    args, names = CASES[case](tmp_path)
    r = loratui(*args, cwd=tmp_path)
    err = r.stderr.decode("utf-8")          # valid UTF-8, whatever the input held
    assert b"Traceback" not in r.stderr + r.stdout, err
    assert r.returncode == 2, (r.returncode, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert names.lower() in err.lower(), err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), \
        "a refused run must not leave a run folder"


# ------------------------------------------------------------------ configs that load
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_bom_and_utf16_configs_load(tmp_path, encoding):
    from loratui.config import load_config

    f = tmp_path / "loratui.toml"
    f.write_bytes("[network]\nrank = 16\n[output]\nname = \"café_☕\"\n".encode(encoding))
    cfg = load_config(f)
    assert cfg.network.rank == 16 and cfg.output.name == "café_☕"


def test_bom_config_through_the_command(tmp_path):
    f = tmp_path / "loratui.toml"
    f.write_bytes("\ufeff[network]\nrank = 16\n".encode())
    r = loratui("config", "show", f)
    assert r.returncode == 0 and "rank = 16" in r.stdout.decode(), r.stderr


@pytest.mark.parametrize(("text", "fragment"), [
    ("[training]\nseed = 4294967296\n", "4294967295"),
    ("[training]\nseed = -1\n", "training.seed"),
    ("[sample]\nseed = 99999999999999\n", "sample.seed"),
    ("[network]\nrank = true\n", "not true/false"),
    ("[network]\nalpha = false\n", "not true/false"),
    ("[training]\nepochs = true\n", "not true/false"),
    ("[doctor]\nmax_rank = inf\n", "finite"),
])
def test_values_the_libraries_reject_are_invalid(tmp_path, text, fragment):
    from loratui.config import ConfigError, load_config

    f = tmp_path / "loratui.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(f)
    assert fragment in str(info.value) and not info.value.unreadable


def test_invalid_value_exit_1_and_largest_seed_is_valid(tmp_path):
    f = tmp_path / "loratui.toml"
    f.write_text("[training]\nseed = 4294967296\n")
    r = loratui("config", "check", f)
    # The verdict on a config that parses is the command's output (stdout).
    assert r.returncode == 1 and b"4294967295" in r.stdout and b"Traceback" not in r.stderr
    f.write_text("[training]\nseed = 4294967295\n")
    from loratui.config import load_config

    assert load_config(f).training.seed == 2**32 - 1


# ------------------------------------------------------------------ files never lost
def _images(folder: Path, names: list[str | bytes]) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        path = os.path.join(os.fsencode(folder), os.fsencode(name))
        Image.new("RGB", (64, 48), (i * 40 % 255, 80, 160)).save(path, format="PNG")


def _digest(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_prepare_never_overwrites_or_deletes_the_users_files(tmp_path):
    src, out = tmp_path / "src", tmp_path / "mine"
    _images(src, ["a.png", "b.png"])
    (src / "a.txt").write_text("a source caption")
    _images(out, ["a.png"])
    (out / "a.txt").write_text("my own notes")
    (out / "b.txt").write_text("more notes")
    before = _digest(out)

    refused = loratui("dataset", "prepare", src, "--out", out)
    assert refused.returncode == 2 and b"Traceback" not in refused.stderr
    err = refused.stderr.decode()
    assert str(out) in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert _digest(out) == before

    forced = loratui("dataset", "prepare", src, "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    after = _digest(out)
    assert {k: after[k] for k in before} == before          # untouched
    assert len(after) == len(before) + 4                      # two images, two captions
    assert "not written by loratui" in forced.stdout.decode()

    (src / "a.png").unlink()                                  # its copy goes, the user's stays
    (src / "a.txt").unlink()
    again = loratui("dataset", "prepare", src, "--out", out)
    assert again.returncode == 0, again.stderr
    final = _digest(out)
    assert {k: final[k] for k in before} == before
    assert len(final) == len(before) + 2


def test_prepare_never_writes_through_a_linked_folder(tmp_path):
    src, out, elsewhere = tmp_path / "src", tmp_path / "out", tmp_path / "elsewhere"
    _images(src / "10_x", ["a.png"])
    _images(src, ["top.png"])
    _images(elsewhere, ["a.png"])
    (elsewhere / "a.txt").write_text("important")
    (elsewhere / "root").symlink_to("/")               # never walked
    out.mkdir()
    (out / "10_x").symlink_to(elsewhere)
    before = _digest(elsewhere)
    r = loratui("dataset", "prepare", src, "--out", out, "--force")
    assert r.returncode == 1 and b"Traceback" not in r.stderr
    assert "is a link to another folder" in r.stdout.decode()
    assert _digest(elsewhere) == before and sorted(p.name for p in elsewhere.iterdir()) == \
        ["a.png", "a.txt", "root"]
    assert (out / "top.png").is_file()


def test_prepare_record_pointing_outside_is_not_followed(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    _images(src, ["a.png"])
    assert loratui("dataset", "prepare", src, "--out", out).returncode == 0
    victim = write(tmp_path / "victim.txt", "precious")
    record = json.loads((out / ".loratui-prepare.json").read_text())
    record["files"]["gone.png"] = {"out": "../victim.txt", "caption": str(victim),
                                   "sig": [1, 1]}
    (out / ".loratui-prepare.json").write_text(json.dumps(record))
    assert loratui("dataset", "prepare", src, "--out", out).returncode == 0
    assert victim.read_text() == "precious"


def test_caption_edit_in_a_forced_folder_backs_up_the_users_captions(tmp_path):
    src, out = tmp_path / "src", tmp_path / "mine"
    _images(src, ["x.png"])
    (src / "x.txt").write_text("girl, watermark")
    _images(out, ["own.png"])
    (out / "own.txt").write_text("mine, watermark")
    assert loratui("dataset", "prepare", src, "--out", out, "--force").returncode == 0
    r = loratui("dataset", "caption", out, "--remove-tag", "watermark")
    assert r.returncode == 0, r.stderr
    assert (out / "x.txt").read_text().strip() == "girl"
    backups = list((out / ".loratui-backup").rglob("own.txt"))
    assert [b.read_text() for b in backups] == ["mine, watermark"]
    assert not list((out / ".loratui-backup").rglob("x.txt"))     # the copy is loratui's


def test_import_force_keeps_every_earlier_file_as_its_own_backup(tmp_path):
    out = tmp_path / "loratui.toml"
    src = write(tmp_path / "k.json", json.dumps({"network_dim": 4}))
    versions = []
    for rank in (1, 2, 3):
        out.write_text(f"# version {rank}\n[network]\nrank = {rank}\n")
        versions.append(out.read_text())
        r = loratui("config", "import", src, "-o", out, "--force")
        assert r.returncode == 0, r.stderr
        assert "kept as" in r.stderr.decode()
    backups = sorted(tmp_path.glob("loratui.toml.*.bak"))
    assert sorted(b.read_text() for b in backups) == sorted(versions)


def test_export_and_presets_write_keep_what_was_there(tmp_path):
    cfg = write(tmp_path / "loratui.toml", "# mine\n[network]\nrank = 4\n")
    out = tmp_path / "kohya"
    write(out / "config.toml", "my sd-scripts config\n")
    r = loratui("config", "export", cfg, "--out", out)
    assert r.returncode == 0 and "kept as" in r.stderr.decode(), r.stderr
    assert [p.read_text() for p in out.glob("config.toml.*.bak")] == ["my sd-scripts config\n"]
    r = loratui("presets", "--gpu", "8GB", "--write", cfg)
    assert r.returncode == 0 and "kept as" in r.stderr.decode(), r.stderr
    assert [p.read_text() for p in tmp_path.glob("loratui.toml.*.bak")] == \
        ["# mine\n[network]\nrank = 4\n"]


def test_backups_within_one_second_never_replace_each_other(tmp_path):
    from loratui.dataset._io import Backup
    from loratui.userfiles import keep_backup

    f = tmp_path / "loratui.toml"
    seen = []
    for i in range(5):
        f.write_text(f"v{i}")
        seen.append(keep_backup(f).read_text())
    assert seen == [f"v{i}" for i in range(5)]
    assert len(list(tmp_path.glob("loratui.toml.*.bak"))) == 5
    cap = tmp_path / "a.txt"
    dirs = set()
    for i in range(3):
        cap.write_text(f"caption {i}")
        b = Backup(tmp_path)
        b.save(cap)
        dirs.add(b.dir)
    assert sorted((d / "a.txt").read_text() for d in dirs) == [f"caption {i}" for i in range(3)]


def test_wizard_save_keeps_each_unloadable_config(tmp_path):
    from loratui.gpu import GpuReport
    from loratui.ui.state import WizardState

    cfg_path = tmp_path / "loratui.toml"
    for i in range(2):
        cfg_path.write_text(f"broken {i} [[[")
        from loratui.config import RunConfig

        WizardState(tmp_path, RunConfig(), GpuReport([], "test")).save()
    texts = sorted(p.read_text() for p in tmp_path.glob("loratui.toml.*.bak"))
    assert texts == ["broken 0 [[[", "broken 1 [[["]


# ------------------------------------------------------------------ names and output
def test_names_that_are_not_utf8_or_hold_newlines(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    _images(src, [b"bad\xff\xfe.png", "new\nline.png", "esc\x1b[31m.png", "ok.png"])
    scan = loratui("dataset", "scan", src, "--json")
    data = json.loads(scan.stdout.decode("utf-8"))              # strict UTF-8, valid JSON
    paths = {i["path"] for i in data["images"]}
    assert "bad\\xff\\xfe.png" in paths and "new\nline.png" in paths

    text = loratui("dataset", "scan", src, "--all").stdout.decode("utf-8")
    listed = [ln.strip() for ln in text.splitlines() if ln.strip().endswith("64×48")]
    assert "new\\nline.png: 64×48" in listed and "bad\\xff\\xfe.png: 64×48" in listed
    assert "\x1b" not in text

    prep = loratui("dataset", "prepare", src, "--out", out, "--json")
    assert prep.returncode == 0, prep.stderr
    assert json.loads(prep.stdout.decode("utf-8"))["written"] == 4
    record = json.loads((out / ".loratui-prepare.json").read_text(encoding="ascii"))
    assert len(record["files"]) == 4
    again = loratui("dataset", "prepare", src, "--out", out, "--json")
    assert json.loads(again.stdout)["up_to_date"] == 4           # the record round-trips
    doctor = loratui("doctor", src).stdout.decode("utf-8")
    assert "\x1b[31m" not in doctor


def test_utf16_captions_are_read_as_utf16(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    _images(src, ["a.png", "b.png"])
    (src / "a.txt").write_bytes("1girl, 日本語, smile".encode("utf-16"))       # BOM
    (src / "b.txt").write_bytes("1boy, café".encode("utf-16-le"))              # no BOM
    scan = loratui("dataset", "scan", src).stdout.decode()
    assert "saved as UTF-16" in scan and "Shift-JIS" not in scan
    assert loratui("dataset", "prepare", src, "--out", out).returncode == 0
    assert (out / "a.txt").read_text(encoding="utf-8").strip() == "1girl, 日本語, smile"
    assert (out / "b.txt").read_text(encoding="utf-8").strip() == "1boy, café"


def test_prepare_of_only_unusable_files_prints_a_summary_and_fails(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(300):
        (src / f"img{i:04d}.png").write_bytes(b"not an image at all" * (i % 3))
    r = loratui("dataset", "prepare", src, "--out", tmp_path / "out", "--workers", "1")
    out, err = r.stdout.decode(), r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err
    assert len(out.splitlines()) < 20, out
    assert "… and 95 more (--all" in out and "… and 195 more (--all" in out
    assert "nothing was written" in err and str(src) in err
    every = loratui("dataset", "prepare", src, "--out", tmp_path / "out", "--all")
    assert len(every.stdout.decode().splitlines()) > 300


def test_attach_shows_a_run_whose_files_hold_bad_rows(tmp_path):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "state.json").write_text('{"state": "finished", "step": "x", "max_steps": 1e-308,'
                                    ' "epochs": [], "error": 5, "lora": 7}')
    rows = ['{"step": 1, "loss": 0.5, "loss_avg": 0.5}', "[1, 2]", "null", "7",
            '{"step": "x", "loss": "NaN", "loss_avg": 1e999, "eta_s": 1e999}',
            '{"loss": NaN, "loss_avg": Infinity, "lr_unet": "fast", "mem_peak_mb": true}',
            "[" * DEEP, '{"a":' * 3000 + "1" + "}" * 3000]
    (run / "metrics.jsonl").write_text("\n".join(rows) + "\n")
    (run / "events.jsonl").write_text('{"type": 5, "message": {"a": 1}, "time": 7}\n[]\n')
    for args in (["attach", run, "--once"], ["runs", "--dir", run.parent],
                 ["runs", "--dir", run.parent, "--json"]):
        r = loratui(*args)
        assert r.returncode == 0, r.stderr
        assert b"Traceback" not in r.stderr
    json.loads(loratui("runs", "--dir", run.parent, "--json").stdout)


def test_doctor_reports_a_nested_safetensors_header_as_a_finding(tmp_path):
    f = write(tmp_path / "d.safetensors", safetensors_bytes(deep_json().encode()))
    r = loratui("doctor", f)
    assert r.returncode == 1 and b"Traceback" not in r.stderr
    assert "LF101" in r.stdout.decode() and "nested" in r.stdout.decode()


def test_lora_metadata_nested_deeply_is_just_metadata(tmp_path):
    t = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    md = {"ss_tag_frequency": deep_json(), "ss_network_dim": "1e999"}
    f = write(tmp_path / "x.safetensors",
              safetensors_bytes({"__metadata__": md, "lora_unet_a.alpha": t}, b"\0" * 4))
    for args in (["lora", "inspect", f], ["lora", "inspect", f, "--json"], ["doctor", f]):
        r = loratui(*args)
        assert b"Traceback" not in r.stderr and r.returncode in (0, 1), r.stderr


def test_lora_metadata_cannot_drive_the_terminal(tmp_path):
    t = {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}
    md = {"ss_output_name": "\x1b]0;owned\x07\x1b[2Jred", "ss_tag_frequency":
          json.dumps({"d": {"\x1b[31mtag": 3}}), "\x1b[5mkey": "v"}
    f = write(tmp_path / "x.safetensors", safetensors_bytes(
        {"__metadata__": md, "lora_unet_a.lora_down.weight": t}, b"\0" * 4))
    r = loratui("lora", "inspect", f)
    out = r.stdout.decode()
    assert r.returncode == 0 and "\x1b" not in out, out
    assert "\\x1b]0;owned\\x07" in out and "\\x1b[31mtag (3)" in out


def test_last_guard_turns_an_unexpected_error_into_one_line():
    from loratui.cli import unexpected_message

    assert "LORATUI_DEBUG=1" in unexpected_message(KeyError("x"))
    msg = unexpected_message(PermissionError(13, "Permission denied", "/data/\udcffx.toml"))
    assert msg.startswith("/data/\\xffx.toml: Permission denied")
    assert "\n" not in unexpected_message(RecursionError("deep"))


# ------------------------------------------------------------------ unreadable files
@pytest.fixture
def unreadable_dir(tmp_path):
    """A folder whose files a chmod 000 really shuts: as root (where permissions do not
    apply) the command runs as `nobody`, in a folder it may enter."""
    import shutil
    import tempfile

    if os.geteuid() != 0:
        yield tmp_path, []
        return
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if not shutil.which("setpriv") or subprocess.run(
            [*as_nobody, sys.executable, "-c", "import loratui"], capture_output=True).returncode:
        pytest.skip("cannot run loratui as another user here")
    folder = Path(tempfile.mkdtemp(prefix="loratui-unreadable-"))
    folder.chmod(0o755)
    yield folder, as_nobody
    shutil.rmtree(folder)


def test_unreadable_files_are_said_to_be_unreadable(unreadable_dir):
    folder, demote = unreadable_dir
    cfg = write(folder / "kohya.toml", "network_dim = 8\n")
    lora = write(folder / "x.safetensors", safetensors_bytes({"t": {"dtype": "F32", "shape": [1],
                                                                   "data_offsets": [0, 4]}},
                                                             b"\0" * 4))
    ds = folder / "ds"
    _images(ds, ["a.png", "b.png"])
    (ds / "a.txt").write_text("1girl")
    for f in (cfg, lora, ds / "a.txt"):
        f.chmod(0)
    env = {**os.environ, "HOME": str(folder), "COLUMNS": "200"}

    def run(*args):
        return subprocess.run([*demote, sys.executable, "-m", "loratui", *map(str, args)],
                              cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    for args in (["doctor", cfg], ["doctor", lora], ["lora", "inspect", lora]):
        r = run(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert "Permission denied" in r.stderr and "--as" not in r.stderr, r.stderr
    scan = run("dataset", "scan", ds, "--all")
    assert "a.txt: cannot be read (Permission denied)" in scan.stdout, scan.stdout
    assert "no a.txt" not in scan.stdout


def test_a_folder_with_nothing_to_read_is_named_as_a_folder(tmp_path):
    (tmp_path / "x.safetensors").mkdir()
    r = loratui("doctor", tmp_path / "x.safetensors")
    assert r.returncode == 2 and b"a folder with nothing the doctor reads" in r.stderr


# ------------------------------------------------------------------ writes keep the user's file
def test_a_linked_config_stays_a_link_and_keeps_its_line_ends(tmp_path):
    """`presets --write` on a loratui.toml that is a link (a dotfiles repository) writes the
    target and leaves the link; the Windows file keeps its CRLF line ends and BOM."""
    dots = tmp_path / "dots"
    target = write(dots / "loratui.toml", "\ufeff# my run\r\n[network]\r\nrank = 8\r\n"
                   .encode("utf-8"))
    link = tmp_path / "loratui.toml"
    link.symlink_to(target)
    r = loratui("presets", "--gpu", "12GB", "--write", link, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert link.is_symlink() and link.resolve() == target
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf# my run\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")            # every line ends in CRLF
    assert b"kind = " in raw                                 # and the preset is in it
    r = loratui("config", "check", link, cwd=tmp_path)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()


def test_a_utf16_config_is_written_back_in_utf16(tmp_path):
    cfg = write(tmp_path / "loratui.toml", "[network]\nrank = 8\n".encode("utf-16"))
    r = loratui("presets", "--gpu", "12GB", "--write", cfg, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    raw = cfg.read_bytes()
    assert raw.startswith(b"\xff\xfe") and "kind = " in raw.decode("utf-16")


def test_a_link_loop_named_as_the_config_is_refused(tmp_path):
    link = tmp_path / "loratui.toml"
    link.symlink_to(link)
    r = loratui("presets", "--gpu", "12GB", "--write", link, cwd=tmp_path)
    assert r.returncode == 2 and b"Traceback" not in r.stderr, r.stderr.decode()
    assert link.is_symlink()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_named_as_the_config_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "loratui.toml")
    r = loratui("presets", "--gpu", "12GB", "--write", tmp_path / "loratui.toml", cwd=tmp_path)
    assert r.returncode == 2 and b"not a regular file" in r.stderr, r.stderr.decode()


# ------------------------------------------------------------------ a full disk, a read-only folder
def _namespace_ok() -> bool:
    """Whether this machine lets a user namespace mount a small tmpfs (a real full disk and
    a real read-only folder, which file permissions cannot give root)."""
    import shutil

    return bool(shutil.which("unshare")) and subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True).returncode == 0


needs_namespace = pytest.mark.skipif(sys.platform != "linux" or not _namespace_ok(),
                                     reason="needs unshare and a tmpfs mount")


def _in_namespace(script: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "PY": sys.executable}
    env.pop("LORATUI_DEBUG", None)
    return subprocess.run(["unshare", "-r", "-m", "sh", "-ec", script], cwd=cwd, env=env,
                          capture_output=True, timeout=120)


def _small_set(root: Path) -> None:
    from PIL import Image

    for i in range(3):
        write(root / f"{i}.png", b"")
        Image.new("RGB", (32, 32), (i * 60, 20, 20)).save(root / f"{i}.png")
        write(root / f"{i}.txt", f"girl, red dress {i}")


@needs_namespace
def test_a_full_disk_while_writing_captions_and_a_copy_loses_nothing(tmp_path):
    """ENOSPC: one line naming the file, exit 2, every caption as it was, and no half
    written backup or temp file left behind (a half backup would later pass for one)."""
    _small_set(tmp_path / "src")
    r = _in_namespace(
        'mkdir -p disk && mount -t tmpfs -o size=64k tmpfs disk && cp -r src disk/ds\n'
        'dd if=/dev/zero of=disk/fill bs=1k 2>/dev/null || true\n'
        'set +e\n'
        '"$PY" -m loratui dataset caption disk/ds --add-prefix zq_girl_ --in-place\n'
        'echo "caption=$?"\n'
        '"$PY" -m loratui dataset prepare disk/ds --out disk/copy\n'
        'echo "prepare=$?"\n'
        'cat disk/ds/0.txt disk/ds/1.txt disk/ds/2.txt; echo\n'
        'find disk -name "*.tmp" -o -name ".*.tmp" | sed "s/^/LEFT /"\n'
        'find disk/ds/.loratui-backup -type f -size 0 2>/dev/null | sed "s/^/EMPTY /"\n',
        tmp_path)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert r.returncode == 0, err
    assert "caption=2" in out and "prepare=2" in out, out + err
    assert "No space left on device" in err and "Traceback" not in err, err
    assert all(len(line.split(": ", 1)[0]) < 200 for line in err.splitlines())
    assert "girl, red dress 0girl, red dress 1girl, red dress 2" in out, out
    assert "LEFT" not in out and "EMPTY" not in out, out


@needs_namespace
def test_a_full_disk_while_writing_a_lora_keeps_the_old_file(tmp_path):
    t = {"dtype": "F16", "shape": [4, 8], "data_offsets": [0, 64]}
    m = "lora_unet_down_blocks_0_attentions_0_proj_in"
    write(tmp_path / "in.safetensors", safetensors_bytes(
        {f"{m}.lora_down.weight": t, f"{m}.lora_up.weight": {**t, "shape": [8, 4],
                                                              "data_offsets": [64, 128]}},
        b"\0\x3c" * 64))
    r = _in_namespace(
        'mkdir -p disk && mount -t tmpfs -o size=64k tmpfs disk\n'
        'echo old > disk/out.safetensors\n'
        'dd if=/dev/zero of=disk/fill bs=1k 2>/dev/null || true\n'
        'set +e\n'
        '"$PY" -m loratui lora convert in.safetensors --to peft -o disk/out.safetensors '
        '--overwrite\n'
        'echo "convert=$?"; cat disk/out.safetensors; ls -a disk\n', tmp_path)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert "convert=2" in out, out + err
    assert "out.safetensors" in err and "No space left" in err and "Traceback" not in err, err
    assert "\nold\n" in out, out                          # the previous output is intact
    assert ".tmp" not in out, out


@needs_namespace
def test_captions_into_a_read_only_folder_say_so(tmp_path):
    _small_set(tmp_path / "src")
    r = _in_namespace(
        'mount --bind src src && mount -o remount,bind,ro src\n'
        'set +e\n'
        '"$PY" -m loratui dataset caption src --add-prefix zq_girl_ --in-place\n'
        'echo "caption=$?"\n', tmp_path)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert "caption=2" in out, out + err
    assert "Read-only file system" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert (tmp_path / "src" / "0.txt").read_text() == "girl, red dress 0"


def test_a_ten_megabyte_string_in_a_config_is_quoted_short(tmp_path):
    """A 10 MB value is named in a few dozen characters, and an output name no file system
    takes is refused before a run that would fail at its export."""
    cfg = write(tmp_path / "loratui.toml", '[output]\nname = "' + "x" * 10_000_000 + '"\n')
    r = loratui("config", "check", cfg, cwd=tmp_path)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode == 1 and len(out) < 1000, out[:2000]
    assert "output.name" in out and "too long for a file name" in out
    long_cjk = write(tmp_path / "cjk.toml", '[output]\nname = "' + "汉" * 61 + '"\n')
    assert loratui("config", "check", long_cjk, cwd=tmp_path).returncode == 1
    fine = write(tmp_path / "ok.toml", '[output]\nname = "' + "汉" * 60 + '"\n')
    assert loratui("config", "check", fine, cwd=tmp_path).returncode == 0


def test_a_dataset_dir_that_is_a_file_is_named_as_a_file(tmp_path):
    write(tmp_path / "photo.png", b"\x89PNG")
    cfg = write(tmp_path / "loratui.toml", '[model]\nbase = "m.safetensors"\n[dataset]\n'
                'dir = "photo.png"\n[output]\ndir = "runs"\n')
    r = loratui("train", cfg, "--no-start", cwd=tmp_path)
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err, err
    assert "photo.png: a file, not a folder (dataset.dir)" in err, err


def test_wizard_save_over_an_invalid_linked_config_keeps_the_link(tmp_path):
    """A linked loratui.toml that did not load (valid TOML, invalid values) is backed up
    and written anew through the link, not replaced by a file beside it."""
    from loratui.config import RunConfig
    from loratui.gpu import GpuReport
    from loratui.ui.state import WizardState

    target = write(tmp_path / "dots" / "loratui.toml", "[network]\nrank = -3\nbogus = 1\n")
    link = tmp_path / "loratui.toml"
    link.symlink_to(target)
    WizardState(tmp_path, RunConfig(), GpuReport([], "test")).save()
    assert link.is_symlink() and link.resolve() == target
    assert "bogus" not in target.read_text() and "rank = " in target.read_text()
    assert [p.read_text() for p in tmp_path.glob("loratui.toml.*.bak")] == \
        ["[network]\nrank = -3\nbogus = 1\n"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_run_records_that_are_pipes_or_huge_never_stall_a_reader(tmp_path):
    """A pipe named like a run's state.json or log (a trainer writing into a pipe) is not
    opened by the doctor or the run readers, and a sparse 1 GB metrics file is read from
    its end, not whole."""
    from loratui.runs import JsonlFollower, RunFolder, read_jsonl

    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    os.mkfifo(run / "state.json")
    os.mkfifo(run / "train.log")
    write(run / "config.toml", "[network]\nrank = 8\n")
    with open(run / "metrics.jsonl", "wb") as fh:
        fh.seek(1024**3)
        fh.write(b'\n{"step": 7, "loss": 0.1}\n')
    r = loratui("doctor", run, cwd=tmp_path)
    assert b"Traceback" not in r.stderr and r.returncode in (0, 1), r.stderr.decode()
    folder = RunFolder(run)
    assert folder.raw_state() == {}
    assert read_jsonl(run / "state.json") == []
    assert read_jsonl(run / "metrics.jsonl", tail=1) == [{"step": 7, "loss": 0.1}]
    assert JsonlFollower(run / "metrics.jsonl").poll() == [{"step": 7, "loss": 0.1}]



def test_a_link_that_cannot_be_followed_for_permissions_is_not_called_missing(tmp_path,
                                                                               monkeypatch):
    """Only a target that is not there 'does not exist'; a link into a folder this user
    cannot enter (EACCES, simulated: tests may run as root) is left to its own error."""
    import errno

    from loratui.userfiles import broken_link

    link = tmp_path / "loratui.toml"
    link.symlink_to(tmp_path / "locked" / "loratui.toml")
    assert "does not exist" in broken_link(link)
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        if os.fspath(path) == str(link):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    assert broken_link(link) is None


def test_a_write_through_a_link_into_a_missing_folder_creates_nothing(tmp_path):
    """A loratui.toml linked into a drive that is not mounted: the write made the whole
    folder tree in the mount point's place and wrote there."""
    from loratui.atomic import atomic_write_text

    link = tmp_path / "loratui.toml"
    link.symlink_to(tmp_path / "unmounted" / "drive" / "loratui.toml")
    with pytest.raises(OSError):
        atomic_write_text(link, "x = 1\n")
    assert not (tmp_path / "unmounted").exists() and link.is_symlink()
    (tmp_path / "unmounted" / "drive").mkdir(parents=True)  # mounted: written through
    atomic_write_text(link, "x = 1\n")
    assert link.is_symlink() and link.read_text() == "x = 1\n"

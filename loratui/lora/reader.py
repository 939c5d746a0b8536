"""Read a LoRA `.safetensors` file without torch and without unpickling anything.

The header pass reads 8 bytes (the header length, checked against the file size before
anything is parsed), then the JSON header: tensor names, dtypes, shapes, offsets and the
`__metadata__` strings. Offsets and sizes are validated. Tensor values are read only on
demand (`tensor_stats`) with numpy from the file's bytes; bf16 is widened to fp32 by
hand because numpy has no bf16.
"""

from __future__ import annotations

import errno
import json
import os
import re
import struct
from collections import Counter
from pathlib import Path

from loratui.i18n import N_
from loratui.i18n import Message as M
from loratui.userfiles import shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit
# A LoRA holds about 2,000 tensors (LyCORIS up to ~6,000), a single-file SD/SDXL/Flux
# checkpoint under 5,000. A header listing more is crafted or damaged, and reading it would
# cost seconds to minutes (JSON, then Python objects per tensor): refused before parsing.
MAX_TENSORS = 20_000
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}
# dtypes the safetensors format defines that take less than a byte a value (or are complex):
# real (fp4/fp6 quantised weights), but nothing here reads them
UNREAD_DTYPES = frozenset({"F4", "F6_E2M3", "F6_E3M2", "F8_E8M0", "C64"})
CHECKPOINT_PREFIXES = ("model.diffusion_model.", "cond_stage_model.", "first_stage_model.",
                       "conditioner.embedders.", "model_ema.")
KOHYA_PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_", "lora_te3_")

# The two matrices of a LoRA module: key endings (kohya, PEFT without an adapter name,
# diffusers' old attention processors), and PEFT's keys that name the adapter.
PAIR_KEYS = {
    "down": ((".lora_down.weight", ".lora_A.weight", "_lora.down.weight", ".lora.down.weight"),
             re.compile(r"(.+)\.lora_A\.[^.]+\.weight$")),
    "up": ((".lora_up.weight", ".lora_B.weight", "_lora.up.weight", ".lora.up.weight"),
           re.compile(r"(.+)\.lora_B\.[^.]+\.weight$")),
}

LYCORIS_MARKERS = (".hada_w1_a", ".hada_w2_a", ".lokr_w1", ".lokr_w2", ".oft_blocks",
                   ".oft_diag", ".diff", ".on_input", ".lora_mid.", ".b1.weight", ".a1.weight",
                   ".dora_scale")


class LoraError(Exception):
    """Not a readable safetensors file. `kind`: empty, too-small, lfs-pointer, pickle,
    zip, header-too-large, bad-header, bad-metadata, bad-offsets, not-a-file."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class TensorInfo:
    __slots__ = ("dtype", "end", "name", "shape", "start")

    def __init__(self, name: str, dtype: str, shape: list[int], start: int, end: int):
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.start = start
        self.end = end

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n


def _sniff_not_safetensors(head: bytes) -> tuple[str, str] | None:
    if head.startswith(b"version https://git-lfs"):
        return ("lfs-pointer", M(N_("this is a git-LFS pointer (a small text file), not the "
                                    "weights: the download fetched the pointer, not the file")))
    if head.startswith(b"PK\x03\x04"):
        return ("zip", M(N_("this is a zip archive (a PyTorch .pt/.ckpt saved with torch.save), "
                            "not safetensors; loratui never unpickles it")))
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return ("pickle", M(N_("this is a Python pickle (a .bin/.ckpt renamed to .safetensors); "
                               "loratui never unpickles it")))
    if head.lstrip().startswith((b"<!DOCTYPE", b"<html", b"<HTML")):
        return ("html", M(N_("this is an HTML page (a failed download or a login page), not "
                             "weights")))
    return None


class LoraFile:
    """The header of a safetensors file plus LoRA-specific views of it."""

    def __init__(self, path: Path, size: int, header_len: int, tensors: dict[str, TensorInfo],
                 metadata: dict[str, str]) -> None:
        self.path = path
        self.size = size
        self.header_len = header_len
        self.tensors = tensors
        self.metadata = metadata
        self._alphas: dict[str, float] | None = None

    # -------------------------------------------------------------- structure
    @property
    def data_offset(self) -> int:
        return 8 + self.header_len

    def format(self) -> str:
        """kohya / peft / diffusers-old / lycoris / checkpoint / unknown."""
        keys = list(self.tensors)
        if not keys:
            return "unknown"
        if sum(k.startswith(CHECKPOINT_PREFIXES) for k in keys) > len(keys) // 4:
            return "checkpoint"
        if not any("lora" in k.lower() or k.endswith(".alpha") for k in keys):
            from loratui.checkpoint import OTHER_IDS, from_header

            if from_header(self.tensors).family in OTHER_IDS:    # Flux, SD3 … weights
                return "checkpoint"
        if any(m in k for k in keys for m in LYCORIS_MARKERS if m != ".dora_scale"):
            return "lycoris"
        if any(".lora_A." in k or ".lora_B." in k or k.endswith((".lora_A.weight",
                                                                 ".lora_B.weight"))
               for k in keys):
            return "peft"
        if any(re.search(r"(_lora\.(up|down)\.weight$|\.processor\.|\.lora\.(up|down)\.weight$)",
                         k) for k in keys):
            return "diffusers-old"
        if all(k.startswith(KOHYA_PREFIXES) for k in keys if not k.startswith("__")):
            return "kohya"
        if any(".lora_down." in k for k in keys):
            return "diffusers-old" if any("." in k.split(".lora_down")[0] for k in keys) \
                else "kohya"
        return "unknown"

    def lycoris_algo(self) -> str | None:
        keys = " ".join(self.tensors)
        for marker, name in ((".hada_", "loha"), (".lokr_", "lokr"), (".oft_", "oft"),
                             (".lora_mid.", "locon-tucker"), (".diff", "full"),
                             (".on_input", "ia3")):
            if marker in keys:
                return name
        if any("conv_in" in k or "_resnets_" in k for k in self.tensors):
            return "locon"
        return None

    def module_names(self) -> list[str]:
        names = set()
        for key in self.tensors:
            m = re.match(r"(.+?)\.(lora_down|lora_up|lora_A|lora_B|alpha|hada_w1_a|lokr_w1|"
                         r"lora\.down|lora\.up)", key)
            if m:
                names.add(m.group(1))
            elif key.endswith("_lora.down.weight"):
                names.add(key[: -len(".down.weight")])
        return sorted(names)

    def _side_keys(self, side: str) -> dict[str, TensorInfo]:
        """Module name → its `down` or `up` matrix, in any format's key naming."""
        suffixes, adapter = PAIR_KEYS[side]
        out = {}
        for key, t in self.tensors.items():
            for suffix in suffixes:
                if key.endswith(suffix):
                    out[key[: -len(suffix)]] = t
                    break
            else:
                m = adapter.match(key)
                if m:
                    out[m.group(1)] = t
        return out

    def _down_keys(self) -> dict[str, TensorInfo]:
        return self._side_keys("down")

    def _up_keys(self) -> dict[str, TensorInfo]:
        return self._side_keys("up")

    def ranks(self) -> dict[str, int]:
        return {m: t.shape[0] for m, t in self._down_keys().items() if t.shape}

    def pair_problems(self) -> list[str]:
        downs, ups = self._down_keys(), self._up_keys()
        problems = []
        for m in sorted(set(downs) - set(ups))[:5]:
            problems.append(M(N_("`{module}` has lora_down but no lora_up"), module=m))
        for m in sorted(set(ups) - set(downs))[:5]:
            problems.append(M(N_("`{module}` has lora_up but no lora_down"), module=m))
        for m in sorted(set(ups) & set(downs)):
            d, u = downs[m], ups[m]
            if len(u.shape) >= 2 and d.shape and u.shape[1] != d.shape[0]:
                problems.append(M(N_("`{module}`: lora_up rank {up} != lora_down rank {down}"),
                                  module=m, up=u.shape[1], down=d.shape[0]))
                if len(problems) > 8:
                    break
        return problems

    def alphas(self) -> dict[str, float]:
        """Module → alpha read from the 0-dim `.alpha` tensors (no numpy needed)."""
        if self._alphas is None:
            out = {}
            alpha_keys = [k for k in self.tensors if k.endswith(".alpha")]
            if alpha_keys:
                with open(self.path, "rb") as fh:
                    for key in alpha_keys:
                        t = self.tensors[key]
                        fh.seek(self.data_offset + t.start)
                        value = _scalar(fh.read(t.end - t.start), t.dtype)
                        if value is not None:
                            out[key[: -len(".alpha")]] = value
            self._alphas = out
        return self._alphas

    def family(self) -> tuple[str | None, str]:
        """(sd15 / sd2 / sdxl / None, how it was decided) from the tensors alone."""
        from loratui.familydata import family_of_cross_attention

        keys = list(self.tensors)
        joined = "\n".join(keys)
        if "lora_te2_" in joined or "text_encoder_2." in joined or "conditioner.embedders.1" \
                in joined:
            return "sdxl", M(N_("second text encoder present"))
        for key, t in self.tensors.items():
            if re.search(r"attn2[._]to_k(\.lora_down\.weight|\.lora_A\.weight|_lora\.down"
                         r"\.weight|\.lora_A\.[^.]+\.weight)$", key) and len(t.shape) >= 2:
                width = t.shape[1]
                fam = family_of_cross_attention(width)
                if fam:
                    return fam, M(N_("cross-attention width {width}"), width=width)
        if re.search(r"lora_unet_(input_blocks|output_blocks|middle_block)_", joined):
            return "sdxl", M(N_("LDM-named UNet blocks"))
        if re.search(r"transformer_blocks[._][1-9]", joined):
            return "sdxl", M(N_("deep transformer blocks"))
        if re.search(r"lora_te_text_model_encoder_layers_(1[2-9]|2\d)_", joined):
            return "sd2", M(N_("OpenCLIP text encoder layers"))
        if re.search(r"down_blocks[._]0[._]attentions", joined):
            return "sd15", M(N_("attention in the first down block"))
        return None, M(N_("no telling tensors"))

    def metadata_family(self) -> str | None:
        md = self.metadata
        version = md.get("ss_base_model_version", "")
        if version.startswith("sdxl"):
            return "sdxl"
        if version.startswith("sd_v2"):
            return "sd2"
        if version.startswith("sd_v1"):
            return "sd15"
        arch = md.get("modelspec.architecture", "")
        if "stable-diffusion-xl" in arch:
            return "sdxl"
        if "stable-diffusion-v2" in arch:
            return "sd2"
        if "stable-diffusion-v1" in arch:
            return "sd15"
        if md.get("ss_v2") == "True":
            return "sd2"
        return None

    def dtypes(self) -> Counter:
        return Counter(t.dtype for t in self.tensors.values())

    # -------------------------------------------------------------- values (numpy)
    def tensor_stats(self, max_bytes: int = 2 * 1024**3) -> dict[str, Any]:
        """NaN / Inf counts over every float tensor and the largest |lora_up| per module."""
        import numpy as np

        nan_tensors: list[str] = []
        inf_tensors: list[str] = []
        up_max: dict[str, float] = {}
        ups = {id(t): m for m, t in self._up_keys().items()}
        read = 0
        with open(self.path, "rb") as fh:
            for key, t in self.tensors.items():
                if t.dtype not in FLOAT_DTYPES or t.numel == 0:
                    continue
                if read > max_bytes:
                    break
                fh.seek(self.data_offset + t.start)
                raw = fh.read(t.end - t.start)
                read += len(raw)
                arr = _to_array(np, raw, t.dtype)
                finite = np.isfinite(arr)
                if not finite.all():
                    if np.isnan(arr).any():
                        nan_tensors.append(key)
                    if np.isinf(arr).any():
                        inf_tensors.append(key)
                if id(t) in ups:
                    vals = np.abs(arr[finite]) if not finite.all() else np.abs(arr)
                    up_max[ups[id(t)]] = float(vals.max()) if vals.size else 0.0
        return {"nan_tensors": nan_tensors, "inf_tensors": inf_tensors, "up_max": up_max}


FLOAT_DTYPES = ("F16", "F32", "F64", "BF16", "F8_E4M3", "F8_E5M2")
_NUMPY_DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4",
                 "I16": "<i2", "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4",
                 "U64": "<u8", "BOOL": "?"}
_FP8_TABLES: dict[str, Any] = {}


def _fp8_table(np, dtype: str):
    """float32 value of each of the 256 codes of an fp8 format (numpy has no fp8):
    E4M3 is the "fn" variant (no infinities, NaN at S.1111.111), E5M2 follows IEEE."""
    if dtype not in _FP8_TABLES:
        exp_bits, man_bits, bias = (4, 3, 7) if dtype == "F8_E4M3" else (5, 2, 15)
        codes = np.arange(256)
        sign = np.where(codes & 0x80, -1.0, 1.0)
        exp = (codes >> man_bits) & ((1 << exp_bits) - 1)
        man = codes & ((1 << man_bits) - 1)
        with np.errstate(over="ignore"):
            value = np.where(exp == 0, man / 2.0**man_bits * 2.0 ** (1 - bias),
                             (1 + man / 2.0**man_bits) * 2.0 ** (exp - bias))
        value = sign * value
        top = exp == (1 << exp_bits) - 1
        if dtype == "F8_E4M3":
            value[top & (man == 7)] = np.nan
        else:
            value[top & (man == 0)] = sign[top & (man == 0)] * np.inf
            value[top & (man != 0)] = np.nan
        _FP8_TABLES[dtype] = value.astype(np.float32)
    return _FP8_TABLES[dtype]


def _to_array(np, raw: bytes, dtype: str):
    """The values of a tensor's bytes, for every dtype `DTYPE_SIZES` knows."""
    if dtype == "BF16":
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    if dtype in ("F8_E4M3", "F8_E5M2"):
        return _fp8_table(np, dtype)[np.frombuffer(raw, dtype=np.uint8)]
    return np.frombuffer(raw, dtype=_NUMPY_DTYPES[dtype])


def _scalar(raw: bytes, dtype: str) -> float | None:
    try:
        if dtype == "F32" and len(raw) >= 4:
            return struct.unpack("<f", raw[:4])[0]
        if dtype == "F16" and len(raw) >= 2:
            return struct.unpack("<e", raw[:2])[0]
        if dtype == "BF16" and len(raw) >= 2:
            return struct.unpack("<f", b"\x00\x00" + raw[:2])[0]
        if dtype == "F64" and len(raw) >= 8:
            return struct.unpack("<d", raw[:8])[0]
        if dtype in ("I64", "I32", "I16", "I8") and raw:
            n = DTYPE_SIZES[dtype]
            return float(int.from_bytes(raw[:n], "little", signed=True))
        if dtype in ("U64", "U32", "U16", "U8") and raw:
            return float(int.from_bytes(raw[:DTYPE_SIZES[dtype]], "little"))
        if dtype in ("F8_E4M3", "F8_E5M2") and raw:
            import numpy as np

            return float(_fp8_table(np, dtype)[raw[0]])
    except struct.error:
        return None
    return None


def read_header(path: Path) -> tuple[int, int, dict[str, Any]]:
    """(file size, header length, parsed header) with every check done before parsing."""
    path = Path(path)
    if not path.is_file():
        raise LoraError("not-a-file", not_a_file(path))
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(64)
        if size == 0:
            raise LoraError("empty", M(N_("the file is empty (0 bytes): an interrupted save, "
                                          "copy or download")))
        sniff = _sniff_not_safetensors(head)
        if sniff:
            raise LoraError(*sniff)
        if size < 8:
            raise LoraError("too-small", M(N_("only {n} bytes: \"header too small\" (a truncated "
                                              "file)"), n=size))
        (n,) = struct.unpack("<Q", head[:8])
        if n > MAX_HEADER or n + 8 > size:
            raise LoraError("header-too-large", M(
                N_("the header says it is {n} bytes long but the file has {size} bytes: "
                   "\"HeaderTooLarge\" — truncated or not safetensors; download or copy it "
                   "again"), n=n, size=size))
        if n < 2:
            raise LoraError("too-small", M(N_("\"header too small\": the header is empty")))
        fh.seek(8)
        raw = fh.read(n)
    # an upper bound of the tensor count without parsing: every entry has one
    # "data_offsets" key (a string value that holds the word has its quotes escaped)
    listed = raw.count(b'"data_offsets"')
    if listed > MAX_TENSORS:
        raise LoraError("too-many-tensors", M(
            N_("the header lists {n} tensors; a LoRA has about 2,000 and a checkpoint under "
               "5,000 (loratui reads up to {limit}): a crafted or damaged file, not weights "
               "to use"), n=f"{listed:,}", limit=f"{MAX_TENSORS:,}"))
    if raw.lstrip().startswith((b"[", b'"')):
        raise LoraError("bad-header", M(N_("\"InvalidHeaderDeserialization\": the header is "
                                           "JSON but not an object of tensors")))
    if not raw.lstrip().startswith(b"{"):
        raise LoraError("bad-header", M(N_("\"InvalidHeaderDeserialization\": the header is not "
                                           "JSON")))
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_no_constant,
                            object_pairs_hook=_unique_keys)
    except DuplicateKey as exc:
        raise LoraError("bad-header", M(N_("the header names `{key}` twice (\"invalid offset\" "
                                           "or \"duplicate field\" when loaded): a damaged or "
                                           "crafted file; download or copy it again"),
                                        key=shown(str(exc)[:120]))) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise LoraError("bad-header", M(N_("\"InvalidHeaderDeserialization\": {error}"),
                                        error=str(exc))) from None
    except RecursionError:
        raise LoraError("bad-header", M(N_("\"InvalidHeaderDeserialization\": the header is "
                                           "nested hundreds of levels deep (no safetensors "
                                           "writer does that)"))) from None
    if not isinstance(header, dict):
        raise LoraError("bad-header", M(N_("\"InvalidHeaderDeserialization\": the header is not "
                                           "an object")))
    return size, n, header


def not_a_file(path: Path) -> str:
    """What a path that is not a regular file is, and what to give instead."""
    if path.is_symlink() and not path.exists():
        try:
            path.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return M(N_("a symbolic link loop (it points back to itself): fix or delete "
                            "the link"))
        return M(N_("a symbolic link to {target}, which does not exist: fix or delete the "
                    "link"), target=shown(os.readlink(path)))
    if path.is_dir():
        return M(N_("a folder, not a file: give the .safetensors file inside it"))
    if path.exists():
        return M(N_("not a regular file (a device or a pipe): give the .safetensors file "
                    "itself"))
    return M(N_("no such file: check the path"))


class DuplicateKey(ValueError):
    """A key twice in one JSON object (Python keeps the last; safetensors refuses it)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON (the safetensors library refuses it)")


def _metadata(raw: Any) -> dict[str, str]:
    """`__metadata__` as the safetensors library reads it: an object of strings. Anything
    else makes A1111, ComfyUI and diffusers refuse the whole file, so it is an error here."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise LoraError("bad-metadata", M(
            N_("`__metadata__` is a {kind}, not an object of strings: A1111, ComfyUI and "
               "diffusers refuse the file (\"InvalidHeaderDeserialization\"); save it again "
               "with a tool that writes string metadata"), kind=type(raw).__name__))
    for key, value in raw.items():
        if not isinstance(value, str):
            raise LoraError("bad-metadata", M(
                N_("metadata `{key}` is {value}, not a string: A1111, ComfyUI and diffusers "
                   "refuse the file (\"InvalidHeaderDeserialization\"); save it again with a "
                   "tool that writes string metadata"), key=shown(key),
                value=shown(f"{json.dumps(value)[:40]}")))
    return raw


def open_lora(path: str | Path) -> LoraFile:
    path = Path(path)
    size, n, header = read_header(path)
    data_len = size - 8 - n
    metadata = _metadata(header.pop("__metadata__", None))
    tensors: dict[str, TensorInfo] = {}
    for name, info in header.items():
        if not isinstance(info, dict):
            raise LoraError("bad-header", M(N_("tensor `{name}` has no dtype/shape/offsets (a "
                                               "damaged or crafted file)"),
                                            name=shown(name)))
        dtype = info.get("dtype")
        shape = info.get("shape")
        offsets = info.get("data_offsets")
        if dtype in UNREAD_DTYPES:
            raise LoraError("bad-header", M(
                N_("tensor `{name}` is {dtype} (packed low-precision or complex values), which "
                   "loratui's LoRA tools do not read; save it as F16, BF16 or F32"),
                name=shown(name), dtype=dtype))
        if isinstance(dtype, str) and dtype not in DTYPE_SIZES:
            raise LoraError("bad-header", M(
                N_("tensor `{name}` has dtype {dtype}, which the safetensors format does not "
                   "define: a damaged file, or one from a newer writer; save it again as "
                   "F16, BF16 or F32"), name=shown(name), dtype=shown(dtype[:20])))
        if dtype not in DTYPE_SIZES or not isinstance(shape, list) or \
                not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                        for s in shape) or \
                not isinstance(offsets, list) or len(offsets) != 2 or \
                not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets):
            raise LoraError("bad-header", M(N_("tensor `{name}` has an invalid entry: {entry} "
                                               "(a damaged or crafted file)"),
                                            name=shown(name), entry=shown(f"{info!r:.120}")))
        start, end = offsets
        t = TensorInfo(name, dtype, shape, start, end)
        if start < 0 or end < start:
            raise LoraError("bad-offsets", M(N_("tensor `{name}` has impossible offsets "
                                                "{start}–{end}: \"InvalidOffset\" — a damaged or "
                                                "crafted file"), name=shown(name), start=start,
                                             end=end))
        if not 0 <= start <= end <= data_len:
            raise LoraError("bad-offsets", M(N_("tensor `{name}` lies outside the file (bytes "
                                                "{start}–{end} of {size}): the file is "
                                                "truncated; download or copy it again"),
                                             name=shown(name), start=start, end=end,
                                             size=data_len))
        if end - start != t.numel * DTYPE_SIZES[dtype]:
            raise LoraError("bad-offsets", M(N_("tensor `{name}` holds {n} bytes but shape "
                                                "{shape} {dtype} needs {need}: "
                                                "\"TensorInvalidInfo\" — a damaged or crafted "
                                                "file"), name=shown(name), n=end - start,
                                             shape=shown(str(shape)[:80]), dtype=dtype,
                                             need=t.numel * DTYPE_SIZES[dtype]))
        tensors[name] = t
    _check_no_overlap(tensors, data_len)
    return LoraFile(path, size, n, tensors, metadata)


def _check_no_overlap(tensors: dict[str, TensorInfo], data_len: int) -> None:
    """The tensors' bytes must tile the data section, as the safetensors library checks
    before it loads anything (A1111, ComfyUI and diffusers refuse the file otherwise):
    two tensors sharing bytes ("invalid offset"; writing one would change the other),
    bytes no tensor claims, and bytes after the last tensor ("file not fully covered")."""
    end = 0
    last: TensorInfo | None = None
    for t in sorted((t for t in tensors.values() if t.end > t.start),
                    key=lambda t: (t.start, t.end)):
        if last is not None and t.start < last.end:
            raise LoraError("bad-offsets", M(
                N_("tensors `{first}` and `{second}` overlap (bytes {start}–{end}): "
                   "\"InvalidOffset\" — a damaged or crafted file"), first=shown(last.name),
                second=shown(t.name), start=t.start, end=min(t.end, last.end)))
        if t.start > end:
            raise LoraError("bad-offsets", M(
                N_("bytes {start}–{end} before tensor `{name}` belong to no tensor: "
                   "\"invalid offset\" — A1111, ComfyUI and diffusers refuse the file; a "
                   "damaged or crafted file"), start=end, end=t.start, name=shown(t.name)))
        last, end = t, t.end
    if end < data_len:
        raise LoraError("bad-offsets", M(
            N_("{n} bytes after the last tensor belong to no tensor: \"file not fully "
               "covered\" — A1111, ComfyUI and diffusers refuse the file; an interrupted or "
               "damaged write"), n=f"{data_len - end:,}"))


def checkpoint_family(path: Path) -> str | None:
    """SD1.x / SD2.x / SDXL family of a base checkpoint from its header (None for anything
    else: `loratui.checkpoint` names the other architectures)."""
    from loratui.checkpoint import inspect
    from loratui.familydata import CROSS_ATTENTION_FAMILY

    info = inspect(path)
    return info.family if info and info.family in CROSS_ATTENTION_FAMILY.values() else None


def two_matrices(down, up) -> bool:
    """Whether a lora_down / lora_up pair of these shapes is two matrices with no empty
    side (a damaged or crafted file can hold scalars or empty tensors under those names)."""
    return len(down) >= 2 and len(up) >= 2 and all(n > 0 for n in (*down, *up))

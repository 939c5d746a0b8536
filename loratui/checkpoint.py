"""What a single-file base checkpoint is, from its header alone (names and a few shapes).

Users bring one `.safetensors` file from a model site: SD1.5 with the original
(`cond_stage_model.transformer.text_model.`) or the older (`cond_stage_model.transformer.`)
CLIP names, SDXL finetunes (Pony, Illustrious, NoobAI: `conditioner.embedders.0/1`), with or
without a baked VAE, fp16 or bf16, EMA copies, a v-prediction marker, and now and then a
model loratui does not train (SD2, SD3, Flux, an SDXL refiner, an inpainting UNet). `inspect`
tells them apart so the Start step and the trainer's pre-flight can say so before any weight
is loaded. Only names and shapes are read; nothing is imported beyond the header reader.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from loratui.lora.reader import LoraFile

UNET = "model.diffusion_model."

# Architectures loratui names but does not train: id -> key prefixes (after UNET is
# stripped); their labels are the families'. The first that matches wins; SD1.x / SD2.x /
# SDXL are told further down.
OTHER_ARCHITECTURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sd3", ("joint_blocks.", "text_encoders.clip_g.", "text_encoders.t5xxl.")),
    ("flux", ("double_blocks.", "single_blocks.", "distilled_guidance_layer.")),
    ("cascade", ("clip_txt_mapper.", "down_blocks.1.0.channelwise.")),
    ("auraflow", ("double_layers.", "cond_seq_linear.")),
    ("playground", ("edm_mean", "edm_std")),
)
OTHER_IDS = frozenset(fid for fid, _ in OTHER_ARCHITECTURES)
_TO_K = re.compile(r"(?:^|\.)(?:input_blocks|down_blocks|middle_block|mid_block)\.[0-9.a-z_]*"
                   r"attn2\.to_k\.weight$")
# Text encoders and VAE under the names the original (LDM) and diffusers checkpoints use.
TEXT_ENCODER_PREFIXES = ("cond_stage_model.", "conditioner.embedders.", "text_encoder.",
                         "te.", "text_model.")
VAE_PREFIXES = ("first_stage_model.", "vae.")
_INPUT_BLOCK = re.compile(re.escape(UNET) + r"input_blocks\.(\d+)\.")
_TRANSFORMER_BLOCK = re.compile(r"\.transformer_blocks\.(\d+)\.")
TOKEN_EMBEDDING = "embeddings.token_embedding.weight"    # a CLIP text encoder's, any layout
OPEN_CLIP = ("conditioner.embedders.1.", "text_encoder_2.")   # SDXL's second encoder
# Files users give where a base model belongs, told by their key names (first match wins).
NOT_A_MODEL: tuple[tuple[str, re.Pattern], ...] = (
    ("embedding", re.compile(r"^(emb_params|clip_[lg])$|^string_to_(param|token)\.")),
    ("controlnet", re.compile(r"^control_model\.|^controlnet_|input_hint_block|zero_convs\.")),
    ("upscaler", re.compile(r"^conv_first\.|\.RDB\d\.|\.rdb\d\.|^model\.\d+\.sub\.")),
)
BARE_VAE = re.compile(r"^(encoder|decoder)\.(down|up|mid|conv_in)|^(post_)?quant_conv\.")
LORA_MARKERS = ("lora_down", "lora_up", "lora_A", "lora_B", ".lora.", "_lora.", ".hada_w",
                ".lokr_w", ".alpha")


@dataclass(frozen=True)
class CheckpointInfo:
    family: str | None      # sd15 / sd2 / sdxl, another architecture's id, or None
    reason: str             # what told it (for messages)
    unet: bool
    text_encoder: bool
    vae: bool
    v_prediction: bool      # a `v_pred` marker key (NoobAI v-pred, kohya's saves)
    zero_terminal_snr: bool  # a `ztsnr` marker key
    in_channels: int | None  # 4; 9 = inpainting, 8 = instruct-pix2pix
    lora: bool = False       # LoRA / LyCORIS keys: an adapter given where a model belongs
    # "model" (a UNet, maybe with more), or what else the file is: lora, embedding,
    # controlnet, upscaler, vae, text_encoder; "" when nothing tells
    kind: str = "model"
    # The shapes that say whether the file fits its family's standard configs:
    context_dim: int | None = None      # the UNet's cross-attention width (768, 2048)
    model_channels: int | None = None   # the UNet's first block width (320)
    text_width: int | None = None       # the (first) CLIP text encoder's width (768)
    input_blocks: int | None = None     # an original-layout UNet's input blocks (12, 9)
    transformer_depth: int | None = None  # its deepest block's transformer layers (1, 10)
    fp8: str = ""            # the fp8 dtype weights are stored in (F8_E4M3, F8_E5M2)
    fp8_scaled: bool = False  # ComfyUI's "scaled fp8": weights stored divided by a scale
    # `modelspec.*` metadata, kept only where its architecture agrees with the weights:
    title: str = ""          # modelspec.title ("Pony Diffusion V6 XL")
    v_source: str = ""       # what says v-prediction: "`v_pred` key", "modelspec.…"

    @property
    def label(self) -> str:
        from loratui.familydata import label

        return label(self.family) if self.family else "unknown"

    @property
    def inpainting(self) -> bool:
        return self.in_channels not in (None, 4)


# Parsed headers by (path, size, mtime, ctime): one command asks about the same file from
# the Start check, the pre-flight, the family and the loader, and reads it once.
_HEADERS: dict[tuple, LoraFile] = {}
_KEEP = 4


def read(path: str | Path) -> LoraFile:
    """The safetensors header of `path`, checked as the safetensors library checks it; read
    once per version of the file in this process. Raises LoraError / OSError."""
    from loratui.lora.reader import open_lora

    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    found = _HEADERS.get(key)
    if found is None:
        found = open_lora(path)
        while len(_HEADERS) >= _KEEP:
            _HEADERS.pop(next(iter(_HEADERS)))
        _HEADERS[key] = found
    return found


def inspect(path: str | Path) -> CheckpointInfo | None:
    """What the checkpoint at `path` holds; None when its header cannot be read."""
    from loratui.lora.reader import LoraError

    try:
        found = read(path)
        return from_header(found.tensors, found.metadata)
    except (LoraError, OSError):
        return None


def _shape(info) -> list:
    shape = info.get("shape") if isinstance(info, dict) else getattr(info, "shape", None)
    return shape if isinstance(shape, list) else []


def _dtype(info) -> str:
    return info.get("dtype", "") if isinstance(info, dict) else getattr(info, "dtype", "")


# modelspec.architecture prefixes (sd-scripts, Stability's spec) -> family; refiner first.
MODELSPEC_FAMILIES = (("stable-diffusion-xl-v1-refiner", "sdxl_refiner"),
                      ("stable-diffusion-xl", "sdxl"), ("stable-diffusion-v2", "sd2"),
                      ("stable-diffusion-v1", "sd15"), ("stable-diffusion-v3", "sd3"),
                      ("flux", "flux"))
V_PREDICTION_TYPES = ("v", "v_prediction", "v-prediction", "velocity")
FP8_SCALE_KEYS = re.compile(r"^scaled_fp8$|\.scale_weight$|\.weight_scale$")


def _modelspec(metadata: dict, family: str | None) -> tuple[str, bool]:
    """(title, v-prediction) from `modelspec.*`, when its architecture is the weights'."""
    arch = str(metadata.get("modelspec.architecture", "")).lower()
    said = next((fid for prefix, fid in MODELSPEC_FAMILIES if arch.startswith(prefix)), None)
    if family is None or said != family:
        return "", False
    prediction = str(metadata.get("modelspec.prediction_type", "")).lower()
    return str(metadata.get("modelspec.title", ""))[:80], prediction in V_PREDICTION_TYPES


def from_header(header: dict, metadata: dict | None = None) -> CheckpointInfo:
    """From a parsed header (name -> entry) or a `LoraFile.tensors` (name -> TensorInfo),
    and the file's `__metadata__` (its `modelspec.*` is a hint the weights must confirm)."""
    keys = list(header)
    bare = [k[len(UNET):] if k.startswith(UNET) else k for k in keys]
    unet = any(k.startswith(UNET) for k in keys) or any(
        k.startswith(("down_blocks.", "input_blocks.")) for k in keys)
    text_encoder = any(k.startswith(TEXT_ENCODER_PREFIXES) for k in keys)
    vae = any(k.startswith(VAE_PREFIXES) for k in keys)
    in_channels = model_channels = None
    for name in (UNET + "input_blocks.0.0.weight", "conv_in.weight"):
        shape = _shape(header.get(name))
        if len(shape) == 4:
            model_channels, in_channels = shape[0], shape[1]
            break
    context_dim = next((shape[1] for key, info in header.items() if _TO_K.search(key)
                        for shape in (_shape(info),) if len(shape) == 2), None)
    text_width = next((shape[1] for key, info in header.items() if key.endswith(TOKEN_EMBEDDING)
                       and not key.startswith(OPEN_CLIP) for shape in (_shape(info),)
                       if len(shape) == 2), None)
    family, reason = _family(keys, bare, header)
    lora = any(m in k for k in keys for m in LORA_MARKERS)
    kind = _kind(keys, lora, unet or family in OTHER_IDS, text_encoder, vae)
    unet = unet and kind == "model"
    blocks = [int(m[1]) for k in keys for m in (_INPUT_BLOCK.match(k),) if m]
    depths = [int(m[1]) for k in keys if k.startswith(UNET)
              for m in (_TRANSFORMER_BLOCK.search(k),) if m]
    fp8s = Counter(d for d in map(_dtype, header.values()) if d.startswith("F8"))
    fp8 = fp8s.most_common(1)[0][0] if fp8s else ""
    title, meta_v = _modelspec(metadata or {}, family)
    v_source = "`v_pred` key" if "v_pred" in header else \
        "modelspec.prediction_type" if meta_v else ""
    return CheckpointInfo(family, reason, unet and not lora, text_encoder and not lora,
                          vae and not lora, v_prediction=bool(v_source),
                          zero_terminal_snr="ztsnr" in header, in_channels=in_channels,
                          lora=lora, kind=kind, context_dim=context_dim,
                          model_channels=model_channels, text_width=text_width,
                          input_blocks=max(blocks) + 1 if blocks else None,
                          transformer_depth=max(depths) + 1 if depths else None, fp8=fp8,
                          fp8_scaled=fp8 != "" and any(FP8_SCALE_KEYS.search(k) for k in keys),
                          title=title, v_source=v_source)


def _kind(keys: list[str], lora: bool, unet: bool, text_encoder: bool, vae: bool) -> str:
    if lora:
        return "lora"
    for kind, pattern in NOT_A_MODEL:
        if any(pattern.search(k) for k in keys):
            return kind
    if unet:
        return "model"
    if vae or any(BARE_VAE.search(k) for k in keys):
        return "vae"
    return "text_encoder" if text_encoder else ""


def _family(keys: list[str], bare: list[str], header: dict) -> tuple[str | None, str]:
    from loratui.familydata import family_of_cross_attention

    for fid, prefixes in OTHER_ARCHITECTURES:
        hit = next((k for k in bare if k.startswith(prefixes)), None)
        if hit:
            return fid, f"`{hit}`"
    if any(k.startswith("conditioner.embedders.1.") for k in keys):
        return "sdxl", "`conditioner.embedders.1.` (second text encoder)"
    if any(k.startswith(("text_encoder_2.", "add_embedding.")) for k in keys):
        return "sdxl", "second text encoder"
    if any(k.startswith("conditioner.embedders.0.model.") for k in keys):
        return "sdxl_refiner", "`conditioner.embedders.0.model.` (OpenCLIP only)"
    if any(k.startswith("cond_stage_model.model.") for k in keys):
        return "sd2", "`cond_stage_model.model.` (OpenCLIP)"
    for key, info in header.items():         # a UNet alone: its cross-attention width
        if _TO_K.search(key):
            shape = _shape(info)
            width = shape[1] if len(shape) == 2 else None
            fam = family_of_cross_attention(width)
            if fam:
                return fam, f"cross-attention width {width}"
    if any(k.startswith("cond_stage_model.transformer.") for k in keys):
        return "sd15", "`cond_stage_model.transformer.` (CLIP ViT-L)"
    if any(k.startswith(UNET + "label_emb.") for k in keys):
        return "sdxl", "`label_emb` (SDXL's size conditioning)"
    return None, "no telling tensors"

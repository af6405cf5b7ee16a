"""Key names of the original OFA checkpoints (OFA-Sys/ofa-tiny ... ofa-huge, saved by the OFA-Sys transformers
port: ``encoder.*`` / ``decoder.*`` at the top level) to hf_vidcap's `OFAForConditionalGeneration`."""

from __future__ import annotations

import json
import re

import torch
from transformers.utils import logging

logger = logging.get_logger(__name__)

# Applied in order to each original key (regex, replacement).
OFA_KEY_RENAMES = (
    (r"^model\.", ""),  # some exports nest the port's OFAModel under "model."
    (r"^decoder\.output_projection\.weight$", "lm_head.weight"),
    (r"^encoder\.embed_images\.", "encoder.image_backbone."),
    (r"\.cross_attn\.", ".encoder_attn."),
    (r"\.cross_attn_layer_norm\.", ".encoder_attn_layer_norm."),
    (r"\.cross_attn_mid_layer_norm\.", ".encoder_attn_mid_layer_norm."),
    (r"^(encoder|decoder)\.", r"model.\1."),
)
# Buffers the port saves; hf_vidcap recomputes them from the config.
OFA_DERIVED_BUFFERS = re.compile(r"(^|\.)(token_rp_bucket|image_rp_bucket|image_position_idx)$")


def convert_ofa_key(key: str) -> str | None:
    """The hf_vidcap name of an original OFA checkpoint key (None for buffers that are recomputed)."""
    if OFA_DERIVED_BUFFERS.search(key):
        return None
    for pattern, replacement in OFA_KEY_RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


TIED_EMBEDDING_KEYS = ("model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight")


def convert_ofa_state_dict(state_dict: dict) -> dict:
    """An original OFA state dict in hf_vidcap's names. The token embedding is shared by the encoder, the decoder
    and the output projection; every copy present must hold the same values (else this raises), and every tied
    name is filled from it."""
    converted: dict = {}
    for key, value in state_dict.items():
        new_key = convert_ofa_key(key)
        if new_key is not None:
            converted[new_key] = value
    tied = [(key, converted[key]) for key in TIED_EMBEDDING_KEYS if key in converted]
    if tied:
        name, embedding = tied[0]
        for other, value in tied[1:]:
            if value.shape != embedding.shape or not torch.equal(value, embedding):
                raise ValueError(f"{other} and {name} are the shared token embedding but hold different values.")
        converted.update({key: embedding for key in TIED_EMBEDDING_KEYS})
    return converted


# ------------------------------------------------------------------------------------- the original release layout
# The OFA-Sys repositories (OFA-Sys/ofa-tiny ... ofa-huge) hold the port's ``config.json`` (model_type "ofa", no
# resolution, no video settings), ``pytorch_model.bin`` in the port's key names and BART's ``vocab.json`` /
# ``merges.txt``; the port's tokenizer appends <code_i> and <bin_j> tokens when it loads.

# Fields of the port's OFAConfig that hf_vidcap's OFA has no use for (training-only regularisers, a path to ResNet
# weights that the checkpoint already holds, settings no released checkpoint changes; see `_ORIGINAL_REQUIRED`).
ORIGINAL_ONLY_FIELDS = (
    "encoder_layerdrop", "decoder_layerdrop", "classifier_dropout", "encoder_drop_path_rate", "decoder_drop_path_rate",
    "resnet_drop_path_rate", "resnet_model_path", "share_decoder_input_output_embed", "entangle_position_embedding",
    "num_hidden_layers", "architectures", "torch_dtype", "transformers_version", "_name_or_path",
)
# Port settings that change the computation; hf_vidcap implements the released checkpoints' value only.
_ORIGINAL_REQUIRED = {"share_decoder_input_output_embed": True, "entangle_position_embedding": False}
_ORIGINAL_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_ORIGINAL_INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")


def is_original_ofa_config(config_dict: dict) -> bool:
    """Whether a ``config.json`` dict is the OFA-Sys port's (hf_vidcap's configs always store ``image_size`` and
    ``frame_fusion``; the port's have neither)."""
    return config_dict.get("model_type") == "ofa" and "image_size" not in config_dict and "frame_fusion" not in config_dict


def original_ofa_resolution(config_dict: dict) -> int | None:
    """The pretraining resolution of a released OFA size (ofa-tiny/medium 256, base 384, large/huge 480), matched
    on its architecture; None for an architecture no release has."""
    from ..checkpoints import _OFA

    key = (config_dict.get("d_model"), config_dict.get("encoder_layers"), config_dict.get("decoder_layers"), config_dict.get("resnet_type"))
    for d_model, encoder_layers, decoder_layers, _heads, resnet, image_size in _OFA.values():
        if key == (d_model, encoder_layers, decoder_layers, resnet):
            return image_size
    return None


def original_ofa_config_dict(config_dict: dict, image_size: int | None = None) -> dict:
    """hf_vidcap's config dict for the port's ``config.json``: the port-only fields dropped (after checking the
    ones that change the computation), ``image_size`` set to the release's resolution (see
    `original_ofa_resolution`) unless ``image_size`` is given (256, with a warning, for an unknown architecture) and the KV cache
    on for generation (the released configs store ``use_cache: false``, a training setting)."""
    for name, required in _ORIGINAL_REQUIRED.items():
        if name in config_dict and config_dict[name] != required:
            raise ValueError(
                f"this OFA checkpoint sets {name}={config_dict[name]!r}; hf_vidcap's OFA implements the released "
                f"checkpoints' {name}={required!r} only."
            )
    converted = {key: value for key, value in config_dict.items() if key not in ORIGINAL_ONLY_FIELDS}
    resolution = image_size or original_ofa_resolution(config_dict)
    if resolution is None:
        logger.warning(
            "OFA config of an architecture no release has (d_model=%s, resnet_type=%s): image_size set to 256; pass "
            "image_size= to from_pretrained if the checkpoint was trained at another resolution.",
            config_dict.get("d_model"), config_dict.get("resnet_type"),
        )
    converted["image_size"] = resolution or 256
    converted["use_cache"] = True
    return converted


def read_checkpoint_config(path: str, hub: dict) -> dict | None:
    """The raw ``config.json`` of a local folder or Hub repository (None when it has none)."""
    from transformers.utils import cached_file

    config_file = cached_file(path, "config.json", _raise_exceptions_for_missing_entries=False, **hub)
    if config_file is None:
        return None
    with open(config_file) as f:
        return json.load(f)


def load_original_ofa_state_dict(path: str, hub: dict) -> dict:
    """The weights of an original-layout OFA repository (one ``pytorch_model.bin`` as released, or safetensors,
    or a sharded index of either), in the port's key names."""
    from safetensors.torch import load_file
    from transformers.utils import cached_file

    def load(file: str) -> dict:
        return load_file(file) if file.endswith(".safetensors") else torch.load(file, map_location="cpu", weights_only=True)

    for name in _ORIGINAL_WEIGHT_FILES:
        file = cached_file(path, name, _raise_exceptions_for_missing_entries=False, **hub)
        if file is not None:
            return load(file)
    for name in _ORIGINAL_INDEX_FILES:
        index = cached_file(path, name, _raise_exceptions_for_missing_entries=False, **hub)
        if index is not None:
            with open(index) as f:
                shards = sorted(set(json.load(f)["weight_map"].values()))
            state_dict: dict = {}
            for shard in shards:
                state_dict.update(load(cached_file(path, shard, **hub)))
            return state_dict
    raise OSError(f"{path} has an original OFA config.json but none of {list(_ORIGINAL_WEIGHT_FILES + _ORIGINAL_INDEX_FILES)}.")


def load_original_ofa_weights(model, state_dict: dict) -> None:
    """Load an original-layout state dict into hf_vidcap's OFA: every converted key must fill a parameter or
    buffer of the model and every parameter must be filled (else a ValueError lists the keys)."""
    converted = convert_ofa_state_dict(state_dict)
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(converted)), sorted(set(converted) - expected)
    if missing or unexpected:
        raise ValueError(
            "the checkpoint does not match this OFA architecture (is its config.json the one saved with these "
            f"weights?): missing {missing[:8]}{' ...' if len(missing) > 8 else ''}, unexpected "
            f"{unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}."
        )
    shapes = [(key, tuple(value.shape), tuple(model.state_dict()[key].shape)) for key, value in converted.items() if value.shape != model.state_dict()[key].shape]
    if shapes:
        raise ValueError(f"checkpoint tensors whose shapes differ from the config's: {shapes[:8]}.")
    model.load_state_dict(converted, strict=True)


__all__ = [
    "OFA_KEY_RENAMES", "ORIGINAL_ONLY_FIELDS", "TIED_EMBEDDING_KEYS", "convert_ofa_key", "convert_ofa_state_dict",
    "is_original_ofa_config", "load_original_ofa_state_dict", "load_original_ofa_weights", "original_ofa_config_dict",
    "original_ofa_resolution", "read_checkpoint_config",
]

"""Key names of the original OFA checkpoints (OFA-Sys/ofa-tiny ... ofa-huge, saved by the OFA-Sys transformers
port: ``encoder.*`` / ``decoder.*`` at the top level) to hf_vidcap's `OFAForConditionalGeneration`."""

from __future__ import annotations

import re

import torch

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


__all__ = ["OFA_KEY_RENAMES", "TIED_EMBEDDING_KEYS", "convert_ofa_key", "convert_ofa_state_dict"]

"""Tiny OFA captioners with random weights, for tests and the offline recipes."""

from __future__ import annotations

import torch

from .configuration_ofa import OFAConfig
from .modeling_ofa import OFAForConditionalGeneration


def get_tiny_ofa_config(
    tokenizer,
    image_size: int = 64,
    d_model: int = 64,
    num_layers: int = 2,
    frame_fusion: str = "concat",
) -> OFAConfig:
    """An OFAConfig with a 2-layer, 64-wide encoder and decoder (the ResNet-50 stem keeps its real widths)
    sized to ``tokenizer``'s vocabulary and special tokens."""
    return OFAConfig(
        vocab_size=len(tokenizer),
        d_model=d_model,
        encoder_layers=num_layers,
        decoder_layers=num_layers,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=2 * d_model,
        decoder_ffn_dim=2 * d_model,
        resnet_type="resnet50",
        image_size=image_size,
        max_position_embeddings=128,
        token_bucket_size=16,
        image_bucket_size=8,
        dropout=0.0,
        frame_fusion=frame_fusion,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.bos_token_id,
    )


def create_tiny_ofa(tokenizer, **config_kwargs) -> OFAForConditionalGeneration:
    """A tiny OFA whose relative-position tables start random (OFA starts them at zero, which a checkpoint then
    fills), so that token and patch order matter from the start."""
    model = OFAForConditionalGeneration(get_tiny_ofa_config(tokenizer, **config_kwargs))
    with torch.no_grad():
        for module in (model.model.encoder, model.model.decoder):
            for table in [*module.token_rel_pos_table_list, *module.image_rel_pos_table_list]:
                table.weight.normal_(std=0.5)
    return model

"""Tiny BLIP-2 video captioners with random weights, for tests, the demo and the offline benchmark."""

from __future__ import annotations

from torch import nn

from .configuration_blip2_video import VideoBlip2Config
from .modeling_blip2_video import VideoBlip2ForConditionalGeneration


def get_tiny_video_blip2_config(
    tokenizer,
    num_frames: int = 8,
    image_size: int = 64,
    patch_size: int = 16,
    hidden_size: int = 64,
    num_query_tokens: int = 8,
    text_hidden_size: int = 128,
    num_layers: int = 2,
    use_temporal_embedding: bool = True,
    frame_fusion: str = "concat_patches",
) -> VideoBlip2Config:
    """A VideoBlip2Config of about half a million parameters (OPT decoder) sized to ``tokenizer``'s vocabulary."""
    return VideoBlip2Config(
        vision_config={
            "hidden_size": hidden_size,
            "intermediate_size": 4 * hidden_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": 4,
            "image_size": image_size,
            "patch_size": patch_size,
            # BLIP-2's default (1e-10) is for loading checkpoints; a model trained from scratch needs a real init.
            "initializer_range": 0.02,
        },
        qformer_config={
            "hidden_size": hidden_size,
            "intermediate_size": 4 * hidden_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": 4,
            "cross_attention_frequency": 1,
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        },
        text_config={
            "model_type": "opt",
            "vocab_size": len(tokenizer),
            "hidden_size": text_hidden_size,
            "word_embed_proj_dim": text_hidden_size,
            "ffn_dim": 4 * text_hidden_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": 4,
            "max_position_embeddings": 128,
            "dropout": 0.0,
            "attention_dropout": 0.0,
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        num_query_tokens=num_query_tokens,
        image_token_index=tokenizer.convert_tokens_to_ids(getattr(tokenizer, "image_token", None) or "<image>"),
        num_frames=num_frames,
        frame_fusion=frame_fusion,
        use_temporal_embedding=use_temporal_embedding,
        temporal_embedding_init_std=0.3 if use_temporal_embedding else 0.0,
    )


def create_tiny_video_blip2(tokenizer, **config_kwargs) -> VideoBlip2ForConditionalGeneration:
    """A tiny VideoBlip2 initialised for training from scratch.

    BLIP-2's own initialisation assumes a checkpoint will be loaded: query tokens start at zero (so all queries
    are identical) and the ViT position embedding at std 0.02. Both are re-drawn here; a larger position
    embedding lets the tiny ViT tell where (and so which way) a shape moves.
    """
    model = VideoBlip2ForConditionalGeneration(get_tiny_video_blip2_config(tokenizer, **config_kwargs))
    nn.init.normal_(model.query_tokens, std=0.5)
    nn.init.trunc_normal_(model.vision_model.embeddings.position_embedding, std=0.3)
    return model

"""Tiny GIT video captioners with random weights, for tests."""

from __future__ import annotations

from .configuration_git_video import VideoGitConfig
from .modeling_git_video import VideoGitForCausalLM


def get_tiny_video_git_config(
    tokenizer,
    num_frames: int = 4,
    frame_fusion: str = "concat",
    image_size: int = 32,
    patch_size: int = 8,
    hidden_size: int = 32,
    num_layers: int = 2,
) -> VideoGitConfig:
    """A VideoGitConfig of about 0.1M parameters sized to ``tokenizer``'s vocabulary."""
    return VideoGitConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        vision_config={
            "hidden_size": hidden_size,
            "intermediate_size": 2 * hidden_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": 4,
            "image_size": image_size,
            "patch_size": patch_size,
        },
        num_image_with_embedding=num_frames,
        frame_fusion=frame_fusion,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def create_tiny_video_git(tokenizer, **config_kwargs) -> VideoGitForCausalLM:
    """A tiny VideoGit with a random (non-zero) temporal embedding, so that frame order matters from the start."""
    import torch

    model = VideoGitForCausalLM(get_tiny_video_git_config(tokenizer, **config_kwargs))
    with torch.no_grad():
        for row in model.git.img_temporal_embedding:
            row.normal_(std=0.3)
    return model

"""Real-size configurations of the public checkpoints each wrapper loads, built offline (no Hub access), so that
the architectures can be instantiated on the meta device, sized for memory planning (DeepSpeed ZeRO), and checked
against the published parameter counts.

``PUBLISHED_PARAMETERS`` are the published sizes: what the Hub shows for the BLIP-2 and GIT checkpoints
(parameters of the stored tensors, three significant digits) and the OFA README's table for OFA (two significant
digits: 33M, 93M, 180M, 470M, 930M); ``SIGNIFICANT_DIGITS`` says how many digits each figure has. The BLIP-2 FLAN-T5 checkpoints store one ``vocab x d_model`` embedding matrix twice (tied in the
model), so their published size is the module's parameter count plus that matrix (`stored_parameter_count`).
"""

from __future__ import annotations

PUBLISHED_PARAMETERS = {
    "Salesforce/blip2-opt-2.7b": 3.74e9,
    "Salesforce/blip2-opt-6.7b": 7.75e9,
    "Salesforce/blip2-flan-t5-xl": 3.94e9,
    "Salesforce/blip2-flan-t5-xxl": 12.2e9,
    "microsoft/git-base": 177e6,
    "microsoft/git-base-vatex": 177e6,
    "microsoft/git-large": 394e6,
    "microsoft/git-large-vatex": 394e6,
    "OFA-Sys/ofa-tiny": 33e6,
    "OFA-Sys/ofa-medium": 93e6,
    "OFA-Sys/ofa-base": 180e6,
    "OFA-Sys/ofa-large": 470e6,
    "OFA-Sys/ofa-huge": 930e6,
}
SIGNIFICANT_DIGITS = {name: 2 if name.startswith("OFA-Sys/") else 3 for name in PUBLISHED_PARAMETERS}

# OFA sizes (d_model, encoder layers, decoder layers, heads, ResNet, resolution).
_OFA = {
    "OFA-Sys/ofa-tiny": (256, 4, 4, 4, "resnet50", 256),
    "OFA-Sys/ofa-medium": (512, 4, 4, 8, "resnet101", 256),
    "OFA-Sys/ofa-base": (768, 6, 6, 12, "resnet101", 384),
    "OFA-Sys/ofa-large": (1024, 12, 12, 16, "resnet152", 480),
    "OFA-Sys/ofa-huge": (1280, 24, 12, 16, "resnet152", 480),
}


def _opt(hidden: int, ffn: int) -> dict:
    return {
        "model_type": "opt", "hidden_size": hidden, "ffn_dim": ffn, "num_hidden_layers": 32, "num_attention_heads": 32,
        "vocab_size": 50272, "max_position_embeddings": 2048, "word_embed_proj_dim": hidden,
        "bos_token_id": 2, "eos_token_id": 50118, "pad_token_id": 1,
    }


def _flan_t5(d_model: int, d_ff: int, heads: int) -> dict:
    return {
        "model_type": "t5", "d_model": d_model, "d_ff": d_ff, "d_kv": 64, "num_heads": heads, "num_layers": 24,
        "num_decoder_layers": 24, "vocab_size": 32128, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False,
        "decoder_start_token_id": 0, "pad_token_id": 0, "eos_token_id": 1,
    }


# BLIP-2: ViT-g/14 (1408-d, 39 layers) and a BERT-base Q-Former with 32 queries are Blip2Config's defaults.
_BLIP2_TEXT = {
    "Salesforce/blip2-opt-2.7b": _opt(2560, 10240),
    "Salesforce/blip2-opt-6.7b": _opt(4096, 16384),
    "Salesforce/blip2-flan-t5-xl": _flan_t5(2048, 5120, 32),
    "Salesforce/blip2-flan-t5-xxl": _flan_t5(4096, 10240, 64),
}
_GIT_VISION = {
    "base": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12, "image_size": 224, "patch_size": 16},
    "large": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16, "image_size": 224, "patch_size": 14},
}


def checkpoint_config(name: str, **video_kwargs):
    """The video config of checkpoint ``name`` (a key of `PUBLISHED_PARAMETERS`), with video settings
    (``num_frames``, ``frame_fusion``, ...) from ``video_kwargs``."""
    from .blip2_video import VideoBlip2Config
    from .git_video import VideoGitConfig

    if name in _BLIP2_TEXT:
        return VideoBlip2Config(text_config=_BLIP2_TEXT[name], num_query_tokens=32, image_token_index=50265 if "opt" in name else 32100, **video_kwargs)
    if name.startswith("microsoft/git-"):
        size = "large" if "large" in name else "base"
        frames = 6 if name.endswith("-vatex") else None
        return VideoGitConfig(
            vision_config=_GIT_VISION[size], hidden_size=768, num_hidden_layers=6, num_attention_heads=12,
            intermediate_size=3072, vocab_size=30522, max_position_embeddings=1024, bos_token_id=101, eos_token_id=102,
            pad_token_id=0, num_image_with_embedding=video_kwargs.pop("num_image_with_embedding", frames), **video_kwargs,
        )
    if name in _OFA:
        from .ofa import OFAConfig

        d_model, encoder_layers, decoder_layers, heads, resnet, image_size = _OFA[name]
        return OFAConfig(
            d_model=d_model, encoder_layers=encoder_layers, decoder_layers=decoder_layers, encoder_attention_heads=heads,
            decoder_attention_heads=heads, encoder_ffn_dim=4 * d_model, decoder_ffn_dim=4 * d_model, resnet_type=resnet,
            image_size=video_kwargs.pop("image_size", image_size), **video_kwargs,
        )
    raise ValueError(f"unknown checkpoint {name!r}; known: {sorted(PUBLISHED_PARAMETERS)}.")


def stored_parameter_count(model) -> int:
    """The parameters a checkpoint of ``model`` stores (what the Hub shows): the module's parameters, plus the
    duplicated embedding matrix of BLIP-2 FLAN-T5 checkpoints."""
    count = sum(p.numel() for p in model.parameters())
    text = model.config.get_text_config()
    if getattr(model.config, "model_type", "") == "video_blip2" and text.model_type == "t5":
        count += text.vocab_size * text.d_model
    return count

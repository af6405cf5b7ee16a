"""Configuration of OFA (Wang et al., 2022), as released by OFA-Sys, plus hf_vidcap's video settings."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig

RESNET_LAYERS = {"resnet50": (3, 4, 6), "resnet101": (3, 4, 23), "resnet152": (3, 8, 36)}
OFA_FRAME_FUSION_MODES = ("concat", "mean")


@strict
class OFAConfig(PreTrainedConfig):
    r"""
    OFA: a BART-like encoder-decoder whose encoder also reads images through the first three stages of a ResNet
    (stride 16), with absolute positions entering attention as a bias (``pos_q_linear`` / ``pos_k_linear``), relative
    position buckets for text (``token_bucket_size``) and image patches (``image_bucket_size``), and NormFormer
    layers (head scales, mid-attention and mid-FFN layer norms). The defaults are ofa-medium's; see
    `hf_vidcap.models.checkpoint_config` for ofa-tiny ... ofa-huge.

    Video (hf_vidcap): ``frame_fusion="concat"`` feeds the frames' patches as extra image patches (each frame's
    patches keep their spatial positions), ``"mean"`` averages the frames' patch features. ``image_size`` is the
    processor's resolution (it fixes the patch grid, ``image_size // 16`` per side).
    """

    model_type = "ofa"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"num_attention_heads": "encoder_attention_heads", "hidden_size": "d_model", "num_hidden_layers": "encoder_layers"}

    vocab_size: int = 59457
    max_position_embeddings: int = 1024
    d_model: int = 512
    encoder_layers: int = 4
    decoder_layers: int = 4
    encoder_attention_heads: int = 8
    decoder_attention_heads: int = 8
    encoder_ffn_dim: int = 2048
    decoder_ffn_dim: int = 2048
    activation_function: str = "gelu"
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    init_std: float = 0.02
    scale_embedding: bool = False
    normformer: bool = True
    encoder_normalize_before: bool = True
    decoder_normalize_before: bool = True
    layernorm_embedding: bool = True
    patch_layernorm_embedding: bool = True
    code_layernorm_embedding: bool = True
    add_type_embedding: bool = True
    resnet_type: str = "resnet101"
    token_bucket_size: int = 256
    image_bucket_size: int = 42
    attn_scale_factor: float = 2.0
    code_image_size: int = 128
    image_size: int = 256
    frame_fusion: str = "concat"
    use_cache: bool = True
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 2
    decoder_start_token_id: int | None = 0
    forced_eos_token_id: int | list[int] | None = None
    is_encoder_decoder: bool = True
    tie_word_embeddings: bool = True

    @classmethod
    def from_dict(cls, config_dict: dict, **kwargs) -> OFAConfig:
        """Also reads the OFA-Sys release's ``config.json`` (see `original_ofa_config_dict`): ``image_size`` is then
        the release's resolution unless given here."""
        from .convert_ofa import is_original_ofa_config, original_ofa_config_dict

        if is_original_ofa_config(config_dict):
            config_dict = original_ofa_config_dict(config_dict, image_size=kwargs.get("image_size"))
        return super().from_dict(config_dict, **kwargs)

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.resnet_type not in RESNET_LAYERS:
            raise ValueError(f"resnet_type ({self.resnet_type!r}) must be one of {sorted(RESNET_LAYERS)}.")
        if self.frame_fusion not in OFA_FRAME_FUSION_MODES:
            raise ValueError(f"frame_fusion ({self.frame_fusion!r}) must be one of {list(OFA_FRAME_FUSION_MODES)}.")
        if self.image_size % 16:
            raise ValueError(f"image_size ({self.image_size}) must be a multiple of 16 (the ResNet stem's stride).")
        for side in ("encoder", "decoder"):
            if self.d_model % getattr(self, f"{side}_attention_heads"):
                raise ValueError(f"d_model ({self.d_model}) must be divisible by {side}_attention_heads.")


__all__ = ["OFAConfig", "RESNET_LAYERS", "OFA_FRAME_FUSION_MODES"]

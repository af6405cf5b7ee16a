"""Configuration of BLIP-2 as a video captioner."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import Blip2Config

FRAME_FUSION_MODES = ("concat_patches", "per_frame_queries")


@strict
class VideoBlip2Config(Blip2Config):
    r"""
    [`Blip2Config`] plus the video settings of [`VideoBlip2ForConditionalGeneration`]. Any BLIP-2 image
    checkpoint's config loads into it, with the video fields at their defaults.

    num_frames (`int`, *optional*, defaults to `8`):
        The largest number of frames per video (T). Fewer frames are accepted; more are an error because the
        temporal embedding has ``num_frames`` rows.
    frame_fusion (`str`, *optional*, defaults to `"concat_patches"`):
        How frames reach the Q-Former. ``"concat_patches"``: every frame goes through the vision tower and all
        frames' patch tokens are concatenated into one sequence that one Q-Former attends to, so the language
        model still sees ``num_query_tokens`` tokens (the BLIP-2 video captioning paper's design).
        ``"per_frame_queries"``: the Q-Former runs on each frame separately and the frames' query outputs are
        concatenated, so the language model sees T * ``num_query_tokens`` tokens (InstructBLIPVideo's design); the
        processor then needs that many image placeholders (``VideoBlip2Processor(num_query_tokens=T * Q)``, see
        `VideoBlip2ForConditionalGeneration.num_visual_tokens`).
    use_temporal_embedding (`bool`, *optional*, defaults to `False`):
        Add a learned per-frame embedding to each frame's patch tokens. Without it the Q-Former's
        cross-attention is permutation-invariant over frames, so it cannot tell "moves left" from "moves right".
        The BLIP-2 video paper uses none; it is initialised to zero so that a loaded image checkpoint behaves
        exactly as before training.
    temporal_embedding_init_std (`float`, *optional*, defaults to `0.0`):
        Standard deviation of the temporal embedding's initialisation (0 = zeros). Models trained from scratch
        learn frame order faster from a random start.
    """

    model_type = "video_blip2"

    num_frames: int = 8
    frame_fusion: str = "concat_patches"
    use_temporal_embedding: bool = False
    temporal_embedding_init_std: float = 0.0

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.frame_fusion not in FRAME_FUSION_MODES:
            raise ValueError(f"frame_fusion ({self.frame_fusion!r}) must be one of {list(FRAME_FUSION_MODES)}.")
        if self.num_frames < 1:
            raise ValueError(f"num_frames ({self.num_frames}) must be >= 1.")

"""Configuration of GIT as a video captioner."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import GitConfig

GIT_FRAME_FUSION_MODES = ("concat", "mean")


@strict
class VideoGitConfig(GitConfig):
    r"""
    [`GitConfig`] plus the video settings of [`VideoGitForCausalLM`]. Any GIT checkpoint's config loads into it
    (``microsoft/git-base-vatex`` and the other video checkpoints set ``num_image_with_embedding``).

    num_image_with_embedding (`int`):
        The largest number of frames per video (T): the temporal embedding has one row per frame. Fewer frames are
        accepted (the loss and the cache are aligned on the actual number of visual tokens); more are an error.
    frame_fusion (`str`, *optional*, defaults to `"concat"`):
        ``"concat"``: each frame's tokens plus its temporal embedding, concatenated over time (T * (P + 1) visual
        tokens; transformers' `GitForCausalLM` behaviour, the VATEX checkpoints). ``"mean"``: add the temporal
        embedding, then average over time (P + 1 visual tokens; ReGen's GIT captioner). The mean of ``frame_t +
        embedding_t`` is the mean frame plus a constant, so this mode cannot tell frame order (motion direction);
        ``"concat"`` can.
    """

    model_type = "video_git"

    frame_fusion: str = "concat"

    def __post_init__(self, **kwargs):
        if self.num_image_with_embedding is None:
            self.num_image_with_embedding = 1
        super().__post_init__(**kwargs)
        if self.frame_fusion not in GIT_FRAME_FUSION_MODES:
            raise ValueError(f"frame_fusion ({self.frame_fusion!r}) must be one of {list(GIT_FRAME_FUSION_MODES)}.")
        if self.num_image_with_embedding < 1:
            raise ValueError(f"num_image_with_embedding ({self.num_image_with_embedding}) must be >= 1 (the largest T).")

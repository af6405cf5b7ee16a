"""The contract every hf_vidcap video captioner follows, so that the trainer, the evaluation and the pipelines can
use any of them (BLIP-2, GIT, OFA, or a user's own model), and `check_video_captioner`, which runs its checks on a
model the way transformers' common tests run on theirs.

A captioner is a `PreTrainedModel` that inherits `VideoCaptionerMixin` and provides:

- ``get_frame_features(pixel_values)``: (B, T, C, H, W) -> (B, T, P, D_v), the vision tower's output per frame
  (what a frozen tower's feature cache stores);
- ``get_video_embeds(pixel_values=None, frame_features=None)``: the visual tokens (B, V, D) the text model reads;
- ``vision_model`` (the tower) and ``visual_modules()`` (everything that turns frames into visual tokens);
- ``forward(..., pixel_values= | video_embeds= | frame_features=, captions_per_video=K)``: text rows grouped by
  video, K per video, each video encoded once (the mixin's `resolve_visual_inputs` does the shared part); the
  visual tokens are those of ``get_video_embeds`` whichever input is given, so a subclass that overrides it changes
  every path (`check_video_captioner` compares them);
- ``generate(pixel_values=None, input_ids=None, video_embeds=None, **generate_kwargs)``: ``input_ids`` is the
  processor's prefix (``processor.prefix_ids()``).

Shapes: B videos, T frames, P tokens per frame, V visual tokens, D hidden sizes, K captions per video.
"""

from __future__ import annotations

import torch
from torch import nn


class VideoCaptionerMixin:
    """Shared visual-input handling of the captioners; see the module docstring for the contract."""

    # The config field holding how many frames the model takes at most (a per-frame embedding's rows), which
    # `AutoModelForVideoCaptioning.from_pretrained(..., num_frames=...)` sets; None: any number.
    frames_config_key: str | None = None

    @classmethod
    def frames_limit_key(cls, config) -> str | None:
        """``frames_config_key`` when ``config`` limits the frames a video may have (override for models whose
        limit depends on the config)."""
        return cls.frames_config_key

    def visual_modules(self) -> dict[str, nn.Module]:
        """The modules that turn frames into visual tokens (by default every child but ``language_model``, and
        the model's own parameters such as query tokens); their weights fingerprint the frozen-feature caches."""
        modules = {name: child for name, child in self.named_children() if name != "language_model"}
        own = dict(self.named_parameters(recurse=False))
        if own:
            modules["own_parameters"] = nn.ParameterDict(own)
        return modules

    def resolve_visual_inputs(
        self,
        pixel_values: torch.Tensor | None = None,
        video_embeds: torch.Tensor | None = None,
        frame_features: torch.Tensor | None = None,
        captions_per_video: int = 1,
        repeat: bool = True,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The one visual input of a ``forward``, as ``(pixel_values, video_embeds)`` with at most one of them set.

        ``frame_features`` always become ``video_embeds``; with K = ``captions_per_video`` > 1, ``pixel_values`` are
        encoded once and (``repeat``) the embeddings repeated K times, row b going to rows b*K .. b*K+K-1.
        """
        given = [name for name, x in (("pixel_values", pixel_values), ("video_embeds", video_embeds), ("frame_features", frame_features)) if x is not None]
        if len(given) > 1:
            raise ValueError(f"pass one of pixel_values, video_embeds or frame_features, not {' and '.join(given)}.")
        if captions_per_video < 1:
            raise ValueError(f"captions_per_video ({captions_per_video}) must be >= 1.")
        if frame_features is not None or (captions_per_video > 1 and pixel_values is not None):
            video_embeds, pixel_values = self.get_video_embeds(pixel_values, frame_features=frame_features), None
        if repeat and video_embeds is not None and captions_per_video > 1:
            video_embeds = video_embeds.repeat_interleave(captions_per_video, dim=0)
        return pixel_values, video_embeds


def configure_captioner(model, processor) -> None:
    """Hand ``processor`` to a captioner that takes its video layout from it (the transformers VLMs of
    `hf_vidcap.models.vlm`); nothing for the others."""
    base = model
    while hasattr(base, "module"):
        base = base.module
    if hasattr(base, "get_base_model"):
        base = base.get_base_model()
    if hasattr(base, "configure_video_inputs"):
        base.configure_video_inputs(processor)


def check_video_captioner(model, processor, num_frames: int = 2, num_videos: int = 2, atol: float = 1e-4) -> None:
    """Run the contract's checks on ``model`` with ``processor``; raises `AssertionError` naming the first failure.

    Checks: it inherits `VideoCaptionerMixin`; frame features, video embeddings and their shapes (B rows); the
    three visual inputs give the same log-probabilities; K captions from one encoding equal K copies of the video;
    greedy ``generate`` from the embeddings returns captions; ``visual_modules`` holds the vision tower.
    """
    from ..captioning import caption_token_logprobs, generate_captions, make_generation_config

    name = type(model).__name__
    if not isinstance(model, VideoCaptionerMixin):
        raise AssertionError(f"{name} does not inherit hf_vidcap.models.VideoCaptionerMixin.")
    for method in ("get_frame_features", "get_video_embeds", "visual_modules", "generate"):
        if not callable(getattr(model, method, None)):
            raise AssertionError(f"{name} has no {method}().")
    size = processor.image_size
    if hasattr(processor, "video_static_inputs"):  # a VLM's own processor lays out its pixels (patches, grid)
        import numpy as np

        num_frames = processor.num_frames
        rng = np.random.default_rng(0)
        pixel_values = processor.preprocess_videos([rng.integers(0, 256, (num_frames, size, size, 3), dtype=np.uint8) for _ in range(num_videos)])
        feature_groups = model.num_frame_feature_groups(num_frames)
    else:
        pixel_values = torch.randn(num_videos, num_frames, 3, size, size, generator=torch.Generator().manual_seed(0))
        feature_groups = num_frames
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            frames = model.get_frame_features(pixel_values)
            if frames.shape[:2] != (num_videos, feature_groups):
                raise AssertionError(f"{name}.get_frame_features gave {tuple(frames.shape)}; expected (B={num_videos}, T={feature_groups}, ...).")
            embeds = model.get_video_embeds(pixel_values)
            if embeds.ndim != 3 or embeds.shape[0] != num_videos:
                raise AssertionError(f"{name}.get_video_embeds gave {tuple(embeds.shape)}; expected (B={num_videos}, V, D).")
            _close(model.get_video_embeds(frame_features=frames), embeds, atol, f"{name}: get_video_embeds(frame_features=...) != get_video_embeds(pixel_values)")
            ids, mask = processor.pad_captions(processor.caption_ids(["a red circle moves left", "a blue square"] * num_videos))
            k = 2
            by_pixels = caption_token_logprobs(model, processor, ids, mask, pixel_values=pixel_values, captions_per_video=k)
            for kind, value in (("video_embeds", embeds), ("frame_features", frames)):
                other = caption_token_logprobs(model, processor, ids, mask, captions_per_video=k, **{kind: value})
                _close(other, by_pixels, atol, f"{name}: log-probabilities from {kind} differ from those from pixel_values")
            copies = caption_token_logprobs(model, processor, ids, mask, pixel_values=pixel_values.repeat_interleave(k, 0))
            _close(by_pixels, copies, atol, f"{name}: captions_per_video={k} differs from {k} copies of each video")
            generated, generated_mask = generate_captions(model, processor, embeds, make_generation_config(processor, 4))
            if generated.shape[0] != num_videos or generated_mask.shape != generated.shape:
                raise AssertionError(f"{name}: greedy generation gave {tuple(generated.shape)} ids for {num_videos} videos.")
        vision = getattr(model, "vision_model", None)
        if vision is None or not any(vision is m or any(vision is sub for sub in m.modules()) for m in model.visual_modules().values()):
            raise AssertionError(f"{name}.visual_modules() must include its vision_model.")
    finally:
        model.train(was_training)


def _close(actual: torch.Tensor, expected: torch.Tensor, atol: float, message: str) -> None:
    if actual.shape != expected.shape or not torch.allclose(actual, expected, atol=atol, rtol=0):
        difference = (actual - expected).abs().max().item() if actual.shape == expected.shape else "shape"
        raise AssertionError(f"{message} (max difference {difference}).")


__all__ = ["VideoCaptionerMixin", "check_video_captioner", "configure_captioner"]

"""The visual side of a training step: run the vision tower once per video and step (or read its frozen output from
the memory and disk feature caches), and hand the loss forward the visual input that keeps the gradients the
trainable parts need. Mixed into `VideoSCSTTrainer`."""

from __future__ import annotations

from contextlib import contextmanager

import torch

from ..captioning import unwrap_captioner


class _VisualPath(torch.nn.Module):
    """Everything of a captioner but its language model, as one module (for fingerprinting frozen weights)."""

    def __init__(self, captioner):
        super().__init__()
        for name, child in captioner.visual_modules().items():
            self.add_module(name, child)


@contextmanager
def frozen_in_eval_mode(*modules: torch.nn.Module):
    """Run frozen modules in eval mode: a frozen vision tower is a fixed function, so its BatchNorm layers use (and
    do not update) their running statistics and its dropout is off, in training as in evaluation. (In train mode a
    BatchNorm tower would normalise with each batch's statistics, so features computed and cached during training
    would not be the ones evaluation computes.)"""
    states = [(m, m.training) for module in modules for m in module.modules()]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for m, training in states:
            m.training = training


class VisualInputsMixin:
    """Feature caching and the per-step visual inputs of `VideoSCSTTrainer`."""

    def _visual_trainability(self) -> tuple[bool, bool]:
        """(vision tower frozen, whole visual path frozen) of the captioner."""
        captioner = unwrap_captioner(self.model)
        vision_frozen = not any(p.requires_grad for p in captioner.vision_model.parameters())
        visual = [p for module in captioner.visual_modules().values() for p in module.parameters()]
        visual_frozen = not any(p.requires_grad for p in visual)
        return vision_frozen, visual_frozen

    def _check_feature_cache(self) -> None:
        if not self.args.cache_video_features:
            return
        sampling = getattr(self.data_collator, "sampling", "uniform")
        if sampling != "uniform":
            raise ValueError(
                f"cache_video_features reuses each video's features, but the collator samples frames with {sampling!r} "
                "(new frames every epoch); use sampling='uniform' or turn the cache off."
            )
        vision_frozen, visual_frozen = self._visual_trainability()
        if not (vision_frozen or visual_frozen):
            raise ValueError(
                "cache_video_features needs a frozen vision tower (its outputs are reused across epochs); freeze "
                "model.vision_model (requires_grad_(False)), use LoRA on the language model, or turn the cache off."
            )

    def _disk_cache(self, kind: str):
        """The on-disk cache of ``kind`` ("video_embeds" or "frame_features"), keyed by the frozen weights that
        produce it and the frame settings."""
        if kind not in self._disk_caches:
            from ..data.feature_cache import VisionFeatureCache, model_fingerprint

            captioner = unwrap_captioner(self.model)
            frozen = captioner.vision_model if kind == "frame_features" else _VisualPath(captioner)
            processor = self.processing_class
            settings = {
                "kind": kind,
                "num_frames": self.args.num_frames,
                "sampling": getattr(self.data_collator, "sampling", "uniform"),
                "frame_size": getattr(self.data_collator, "frame_size", None),
                "short_video": getattr(self.data_collator, "short_video", "error"),
                "processor": {k: v for k, v in processor.to_dict().items() if k != "prompt"} if hasattr(processor, "to_dict") else None,
            }
            self._disk_caches[kind] = VisionFeatureCache(self.args.feature_cache_dir, model_fingerprint(frozen), settings)
        return self._disk_caches[kind]

    def _cached(self, keys: list, compute, kind: str) -> torch.Tensor:
        """Per-video features from the memory cache, then the disk cache (``feature_cache_dir``), computing (under
        no_grad) only the videos found in neither."""
        missing = [i for i, key in enumerate(keys) if key not in self._feature_cache]
        self.feature_cache_stats["hits"] += len(keys) - len(missing)
        self.feature_cache_stats["misses"] += len(missing)
        if missing and self.args.feature_cache_dir is not None:
            if self._batch_video_keys is None or len(self._batch_video_keys) != len(keys):
                raise ValueError("feature_cache_dir needs the batch's video_keys (from VideoCaptionCollator).")
            disk = self._disk_cache(kind)
            before = disk.stats["hits"]
            with torch.no_grad():
                computed = disk.get_or_compute(
                    [self._batch_video_keys[i] for i in missing], lambda rows: compute([missing[r] for r in rows])
                )
            self.feature_cache_stats["disk_hits"] += disk.stats["hits"] - before
            for row, i in enumerate(missing):
                self._feature_cache[keys[i]] = computed[row]
            missing = []
        if missing:
            with torch.no_grad():
                computed = compute(missing)
            for row, i in enumerate(missing):
                self._feature_cache[keys[i]] = computed[row].detach().cpu()
        device = self.args.device
        return torch.stack([self._feature_cache[key] for key in keys]).to(device)

    def _visual_inputs(self, model, pixel_values: torch.Tensor, columns: dict):
        """Run the vision tower once for the batch. Returns (detached embeddings for generation, kwargs for the
        loss forward)."""
        captioner = unwrap_captioner(model)
        vision_frozen, visual_frozen = self._visual_trainability()
        keys = None
        if self.args.cache_video_features:
            keys = columns.get(self.args.id_column)
            if keys is None:
                raise ValueError(
                    f"cache_video_features needs a {self.args.id_column!r} column naming each video; add one or set id_column."
                )
        if visual_frozen:
            # The loss forward reuses the generation-time encoding as is.
            with frozen_in_eval_mode(*captioner.visual_modules().values()):
                if keys is not None:
                    video_embeds = self._cached(keys, lambda rows: captioner.get_video_embeds(pixel_values[rows]), "video_embeds")
                else:
                    with torch.no_grad():
                        video_embeds = captioner.get_video_embeds(pixel_values)
            return video_embeds, {"video_embeds": video_embeds}
        if vision_frozen:
            # Frozen vision tower, trainable Q-Former: the tower runs once; the Q-Former runs again with grad in
            # the loss forward (through the wrapped model, so DDP sees it).
            with frozen_in_eval_mode(captioner.vision_model):
                if keys is not None:
                    frame_features = self._cached(
                        keys, lambda rows: captioner.get_frame_features(pixel_values[rows]), "frame_features"
                    )
                else:
                    with torch.no_grad():
                        frame_features = captioner.get_frame_features(pixel_values)
            with torch.no_grad():
                video_embeds = captioner.get_video_embeds(frame_features=frame_features)
            return video_embeds, {"frame_features": frame_features}
        if self._is_zero3():
            # ZeRO-3 partitions the parameters: encode inside the engine's forward (the video is encoded again).
            with torch.no_grad():
                video_embeds = captioner.get_video_embeds(pixel_values)
            return video_embeds, {"pixel_values": pixel_values}
        # Trainable vision tower: encode once with gradients, generate from a detached copy, and let the loss
        # forward take the graph-carrying embeddings (backward then reaches the vision tower).
        video_embeds = captioner.get_video_embeds(pixel_values)
        return video_embeds.detach(), {"video_embeds": video_embeds}

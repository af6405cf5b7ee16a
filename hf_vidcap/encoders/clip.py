"""Frozen CLIP-style encoders shared by the rewards, the metrics, the evaluation and the evaluate modules: captions
and video frames embedded (L2-normalised) by a transformers or open_clip CLIP model.

A video's embedding is the mean over its frames of the normalised frame embeddings (ReGen eq. 4's f).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..metrics.clip_score import ref_clip_s

BACKENDS = ("transformers", "open_clip")


class CLIPEmbedder:
    """A frozen CLIP model that embeds captions and video frames (L2-normalised), transformers or open_clip.

    Args:
        model: a transformers `CLIPModel` (backend ``"transformers"``) or an open_clip ``CLIP`` model.
        tokenizer: the model's tokenizer (transformers tokenizer, or open_clip's ``get_tokenizer(name)``).
        image_processor: transformers `CLIPImageProcessor`, or open_clip's ``preprocess`` transform.
        backend (`str`, *optional*, defaults to `"transformers"`): ``"transformers"`` or ``"open_clip"``.
        device (`str` or `torch.device`, *optional*): where the model runs; defaults to the model's device.
        batch_size (`int`, *optional*, defaults to `256`): texts or frames per forward.

    Use `CLIPEmbedder.from_pretrained("openai/clip-vit-base-patch16")` for a Hub checkpoint (or
    ``from_pretrained("ViT-B-16", backend="open_clip", pretrained="openai")``).
    """

    def __init__(self, model, tokenizer, image_processor=None, backend: str = "transformers", device=None, batch_size: int = 256):
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r} is unknown; use one of {BACKENDS}.")
        if batch_size < 1:
            raise ValueError(f"batch_size ({batch_size}) must be >= 1.")
        self.backend = backend
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model.to(self.device)
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, name_or_path: str, backend: str = "transformers", pretrained: str | None = None, **kwargs) -> CLIPEmbedder:
        """Load a CLIP checkpoint: a transformers repo id / directory, or an open_clip model name (+ ``pretrained``
        tag, or an ``hf-hub:`` name)."""
        if backend == "transformers":
            from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

            return cls(
                CLIPModel.from_pretrained(name_or_path),
                AutoTokenizer.from_pretrained(name_or_path),
                CLIPImageProcessor.from_pretrained(name_or_path),
                backend=backend,
                **kwargs,
            )
        if backend == "open_clip":
            try:
                import open_clip
            except ImportError as error:
                raise ImportError("the open_clip backend needs open_clip_torch: pip install 'hf-vidcap[open_clip]'.") from error
            model, _, preprocess = open_clip.create_model_and_transforms(name_or_path, pretrained=pretrained)
            return cls(model, open_clip.get_tokenizer(name_or_path), preprocess, backend=backend, **kwargs)
        raise ValueError(f"backend {backend!r} is unknown; use one of {BACKENDS}.")

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """(N, D) L2-normalised text embeddings, on the CPU."""
        outputs = []
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            if self.backend == "transformers":
                max_length = getattr(self.model.config.text_config, "max_position_embeddings", 77)
                tokens = self.tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
                tokens = {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
                features = self.model.get_text_features(**tokens).pooler_output
            else:
                features = self.model.encode_text(self.tokenizer(chunk).to(self.device))
            outputs.append(F.normalize(features.float(), dim=-1).cpu())
        if not outputs:
            return torch.zeros(0, self.embedding_dim)
        return torch.cat(outputs)

    @torch.inference_mode()
    def encode_frames(self, frames: np.ndarray) -> torch.Tensor:
        """(T, D) L2-normalised embeddings of T uint8 frames (T x H x W x 3), on the CPU."""
        frames = np.asarray(frames)
        outputs = []
        for start in range(0, len(frames), self.batch_size):
            chunk = frames[start : start + self.batch_size]
            if self.backend == "transformers":
                pixels = self.image_processor(images=list(chunk), return_tensors="pt")["pixel_values"]
                features = self.model.get_image_features(pixel_values=pixels.to(self.device)).pooler_output
            else:
                from PIL import Image

                pixels = torch.stack([self.image_processor(Image.fromarray(frame)) for frame in chunk])
                features = self.model.encode_image(pixels.to(self.device))
            outputs.append(F.normalize(features.float(), dim=-1).cpu())
        return torch.cat(outputs)

    def encode_video(self, frames: np.ndarray) -> torch.Tensor:
        """(D,) video embedding: the mean of the L2-normalised frame embeddings (ReGen eq. 4's f; not re-normalised)."""
        return self.encode_frames(frames).mean(dim=0)

    @property
    def embedding_dim(self) -> int:
        if self.backend == "transformers":
            return self.model.config.projection_dim
        return self.model.text_projection.shape[1] if hasattr(self.model, "text_projection") else self.model.embed_dim


def ref_clip_scores(embedder, clip_scores: torch.Tensor, text_embeddings: torch.Tensor, references: Sequence[Sequence[str]]) -> torch.Tensor:
    """RefCLIP-S (`hf_vidcap.metrics.ref_clip_s`) of captions with the given CLIP-S and embeddings, against each
    caption's list of reference captions, embedded here with ``embedder``."""
    owner = [i for i, refs in enumerate(references) for _ in refs]
    reference_embeddings = embedder.encode_text([r for refs in references for r in refs])
    return ref_clip_s(clip_scores, text_embeddings, reference_embeddings, owner)


_LOADED_EMBEDDERS: dict[tuple[str, str], CLIPEmbedder] = {}


def load_clip_embedder(clip_model, backend: str = "transformers") -> CLIPEmbedder:
    """``clip_model`` as a `CLIPEmbedder`: returned as is when it already is one (anything with ``encode_text``),
    else loaded with `CLIPEmbedder.from_pretrained` once per (name, backend) and kept for the process."""
    if clip_model is None:
        raise ValueError("clip_model is None; pass a CLIP checkpoint (e.g. 'openai/clip-vit-base-patch16') or a CLIPEmbedder.")
    if hasattr(clip_model, "encode_text"):
        return clip_model
    key = (str(clip_model), backend)
    if key not in _LOADED_EMBEDDERS:
        _LOADED_EMBEDDERS[key] = CLIPEmbedder.from_pretrained(str(clip_model), backend=backend)
    return _LOADED_EMBEDDERS[key]


__all__ = ["BACKENDS", "CLIPEmbedder", "load_clip_embedder", "ref_clip_scores"]

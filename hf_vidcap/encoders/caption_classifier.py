"""Zero-shot classification of captions in CLIP's text space (ReGen eq. 1): the class whose name embeds closest to
the caption. Used by ReGen's CLS-R reward, the zero-shot evaluation and the zero-shot evaluate module."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _class_names(class_names) -> list[str]:
    # A datasets ClassLabel feature, or any sequence of names.
    names = list(getattr(class_names, "names", class_names) or [])
    if len(names) < 2 or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError(
            f"class_names must hold at least two non-empty strings (a list or the dataset's ClassLabel feature), got {names!r}."
        )
    if len(set(names)) != len(names):
        raise ValueError("class_names has duplicates; each class needs a distinct name.")
    return names


class CaptionClassifier:
    """Zero-shot classification of captions by the closest class name in CLIP text space (ReGen eq. 1).

    Args:
        embedder: anything with ``encode_text(list[str]) -> (N, D)`` normalised embeddings (a `CLIPEmbedder`).
        class_names (`list[str]` or `datasets.ClassLabel`): the C class names; their embeddings are computed once.
        temperature (`float`, *optional*, defaults to `0.01`): tau of eq. 1 (CLIP's own logit scale is 100).
        prompt (`str`, *optional*, defaults to `"{}"`): how a class name is phrased before encoding
            (e.g. ``"a video of {}"``).
    """

    def __init__(self, embedder, class_names, temperature: float = 0.01, prompt: str = "{}"):
        if not temperature > 0:
            raise ValueError(f"temperature ({temperature}) must be positive.")
        if "{}" not in prompt:
            raise ValueError(f"prompt ({prompt!r}) must contain '{{}}' where the class name goes.")
        self.embedder = embedder
        self.class_names = _class_names(class_names)
        self.index = {name: i for i, name in enumerate(self.class_names)}
        self.temperature = temperature
        self.prompt = prompt
        self.class_embeddings = embedder.encode_text([prompt.format(n) for n in self.class_names])  # (C, D)

    def log_probs(self, captions: Sequence[str]) -> torch.Tensor:
        """(N, C) log p(c | caption)."""
        text = self.embedder.encode_text(list(captions))
        return torch.log_softmax(text @ self.class_embeddings.T / self.temperature, dim=-1)

    def predict(self, captions: Sequence[str]) -> list[int]:
        """The index of the closest class name for each caption."""
        return self.log_probs(captions).argmax(dim=-1).tolist()

    def label_index(self, label, sample) -> int:
        """A label (class index or class name) as an index, or an error listing the valid names."""
        if isinstance(label, str):
            if label not in self.index:
                raise ValueError(
                    f"sample {sample}: class name {label!r} is not one of the {len(self.class_names)} classes "
                    f"{self.class_names}; pass the dataset's class names to the reward."
                )
            return self.index[label]
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(self.class_names):
            raise ValueError(
                f"sample {sample}: label {label!r} is not a class index in [0, {len(self.class_names)}) or a class name."
            )
        return label


__all__ = ["CaptionClassifier"]

"""ReGen's class-discrimination reward CLS-R (eqs. 1-2) and the zero-shot caption classifier it trains for.

The class of a caption is read off CLIP's text space: p(y | t) = softmax_c(cos(t_c, t) / tau) over the class
names' embeddings t_c (eq. 1). ReGen writes CLS-R as the cross-entropy of the true class (eq. 2); as a reward to
maximise we return its negative, log p(y | t), so that a caption closer to its class scores higher (<= 0, 0 for
a certain classification).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._contract import check_finite, column, completion_text


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


class _ClassReward:
    __name__ = "cls_r"

    def __init__(self, classifier: CaptionClassifier, label_column: str):
        self.classifier = classifier
        self.label_column = label_column

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        if not texts:
            return []
        labels = column(kwargs, self.label_column, "cls_r", len(texts), "the class of each sample")
        targets = torch.tensor([self.classifier.label_index(label, i) for i, label in enumerate(labels)])
        log_probs = self.classifier.log_probs(texts)
        return check_finite(self.__name__, log_probs.gather(1, targets[:, None]).squeeze(1).tolist(), texts)


def get_class_reward(
    embedder, class_names, label_column: str = "label", temperature: float = 0.01, prompt: str = "{}"
) -> _ClassReward:
    """ReGen's CLS-R: ``log p(y | t)`` with ``p(y | t) = softmax_c(cos(t_c, t) / tau)`` over the CLIP text embeddings
    t_c of the class names (eqs. 1-2, sign flipped so that higher is better).

    Args:
        embedder (`CLIPEmbedder`): frozen CLIP text encoder.
        class_names (`list[str]` or `datasets.ClassLabel`): the training (base) classes, e.g.
            ``dataset.features["label"]``.
        label_column (`str`, *optional*, defaults to `"label"`): each sample's class, as an index or a name.
        temperature (`float`, *optional*, defaults to `0.01`): tau.
        prompt (`str`, *optional*, defaults to `"{}"`): template for the class names.

    Returns:
        A picklable callable named ``cls_r``; its ``classifier`` (`CaptionClassifier`) also classifies captions
        zero-shot over any class list.

    Example:
        >>> from hf_vidcap.rewards import get_class_reward
        >>> from hf_vidcap.testing import tiny_clip_embedder
        >>> reward = get_class_reward(tiny_clip_embedder(), ["moving left", "growing bigger", "spinning"])
        >>> scores = reward(["a circle moving left", "a square spinning"], label=[0, "spinning"])
        >>> all(s <= 0 for s in scores)
        True
    """
    return _ClassReward(CaptionClassifier(embedder, class_names, temperature, prompt), label_column)

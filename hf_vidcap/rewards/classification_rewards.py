"""ReGen's class-discrimination reward CLS-R (eqs. 1-2) and the zero-shot caption classifier it trains for.

The class of a caption is read off CLIP's text space: p(y | t) = softmax_c(cos(t_c, t) / tau) over the class
names' embeddings t_c (eq. 1). ReGen writes CLS-R as the cross-entropy of the true class (eq. 2); as a reward to
maximise we return its negative, log p(y | t), so that a caption closer to its class scores higher (<= 0, 0 for
a certain classification).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..encoders.caption_classifier import CaptionClassifier
from ._contract import check_finite, column, completion_text


class _ClassReward:
    __name__ = "cls_r"

    def __init__(self, classifier: CaptionClassifier, label_column: str):
        self.classifier = classifier
        self.label_column = label_column

    @property
    def required_columns(self) -> tuple[str, ...]:
        return (self.label_column,)

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

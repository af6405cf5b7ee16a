"""CIDEr-D as a reward (Rennie et al.'s SCST reward), following TRL's ``reward_funcs`` contract."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ..metrics.cider import CiderD
from ..metrics.text import normalize_caption, normalize_corpus
from ._contract import completion_text

_REFERENCE_CACHE_LIMIT = 200_000  # videos whose normalised references are kept (cleared when full)


class _CiderDReward:
    __name__ = "cider_d"

    def __init__(self, scorer: CiderD, references_column: str, normalize: bool):
        self.scorer = scorer
        self.references_column = references_column
        self.normalize = normalize
        # A video's references are normalised once per run, not on every step that samples it.
        self._normalized_references: dict[tuple[str, ...], list[str]] = {}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_normalized_references": {}}  # the cache is rebuilt, not pickled

    def _normalized(self, references: Sequence[str], sample) -> list[str]:
        if isinstance(references, str):
            raise ValueError(f"sample {sample!r}: the references must be a list of captions, not one string {references!r}.")
        key = tuple(references)
        normalized = self._normalized_references.get(key)
        if normalized is None:
            normalized = normalize_corpus([], [references], [sample])[1][0]  # an empty one is an error naming it
            if len(self._normalized_references) >= _REFERENCE_CACHE_LIMIT:
                self._normalized_references.clear()
            self._normalized_references[key] = normalized
        return normalized

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Dataset columns the reward reads (the trainer checks the training set has them before it starts)."""
        return (self.references_column,)

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        if self.references_column not in kwargs:
            raise ValueError(
                f"the CIDEr-D reward needs the dataset column {self.references_column!r} with each sample's reference "
                f"captions, but got only {sorted(kwargs)}; set references_column to the right column."
            )
        references = kwargs[self.references_column]
        candidates = [completion_text(c) for c in completions]
        if self.normalize:
            names = kwargs.get("video_id")
            candidates = [normalize_caption(c) for c in candidates]
            references = [self._normalized(refs, names[i] if names is not None else i) for i, refs in enumerate(references)]
        scores = self.scorer.compute_score(candidates, references)[1]
        return [float(s) for s in scores]


def get_cider_d_reward(
    train_references: Iterable[Sequence[str]] | None = None,
    references_column: str = "captions",
    sigma: float = 6.0,
    normalize: bool = True,
) -> _CiderDReward:
    """CIDEr-D of each completion against its sample's reference captions.

    Args:
        train_references (`list[list[str]]`, *optional*):
            The training set's references, one list per video. Document frequencies are counted once over them
            (SCST mode, as self-critical.pytorch does), which makes the reward of a caption independent of the
            rest of the batch. `None` counts them over the references of each call (pycocoevalcap's corpus mode).
        references_column (`str`, *optional*, defaults to `"captions"`):
            The dataset column holding each sample's reference captions.
        sigma (`float`, *optional*, defaults to `6.0`):
            Standard deviation of CIDEr-D's Gaussian length penalty.
        normalize (`bool`, *optional*, defaults to `True`):
            Lower-case and strip punctuation from completions and references before scoring
            (`hf_vidcap.metrics.normalize_caption`, the tokenisation the evaluation uses), so the reward optimises
            the metric that is reported. `False` scores the strings as given (split on whitespace).

    Returns:
        A picklable callable ``reward(completions, **columns) -> list[float]`` named ``cider_d``.

    Example:
        >>> from hf_vidcap.rewards import get_cider_d_reward
        >>> train = [["a red circle moves left", "a red circle slides left"], ["a blue square grows", "a blue square gets bigger"]]
        >>> reward = get_cider_d_reward(train_references=train)
        >>> [round(s, 3) for s in reward(["a red circle moves left", "a blue square"], captions=train)]
        [6.979, 5.24]
    """
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma ({sigma}) must be a positive number.")
    if train_references is None:
        scorer = CiderD(sigma=sigma)
    else:
        if normalize:
            _, train_references = normalize_corpus([], list(train_references))
        scorer = CiderD.from_corpus(train_references, sigma=sigma)
    return _CiderDReward(scorer, references_column, normalize)

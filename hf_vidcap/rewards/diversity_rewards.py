"""Sentence BLEU as a reward and the sequence-level exploration diversity term (Chen & Jin, "Sequence-level
exploration"): for the K samples of one video, sample j is rewarded with (2 / K) * sum_k d(y_j, y_k) (the
multiplier of grad log p(y_j) in their eq. for grad L_2), d a syntactic distance, BLEU-3 + BLEU-4 based.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ..metrics.bleu import sentence_bleu
from ..metrics.text import normalize_caption
from ._contract import check_finite, column, completion_text, group_ids


def bleu_distance(a: str, b: str, orders: Sequence[int] = (3, 4), smoothing: float = 1.0) -> float:
    """``sum_n (1 - BLEU-n)`` over ``orders``, averaged over both directions (a against b, b against a) so that
    d(a, b) = d(b, a); 0 for identical captions, up to ``len(orders)`` for captions with nothing in common.

    Example:
        >>> from hf_vidcap.rewards import bleu_distance
        >>> bleu_distance("a red circle moves left", "a red circle moves left")
        0.0
        >>> bleu_distance("a red circle", "the blue square")  # no word in common: both BLEUs are 0
        2.0
    """
    if a == b:
        return 0.0  # also for two empty captions, which BLEU would score 0 (distance len(orders))
    n = max(orders)
    total = 0.0
    for candidate, reference in ((a, b), (b, a)):
        scores = sentence_bleu(candidate, [reference], n=n, smoothing=smoothing) if candidate else [0.0] * n
        total += sum(1.0 - scores[k - 1] for k in orders)
    return total / 2


class _BleuReward:
    def __init__(self, n: int, smoothing: float, references_column: str, normalize: bool):
        self.n = n
        self.smoothing = smoothing
        self.references_column = references_column
        self.normalize = normalize
        self.__name__ = f"bleu_{n}"

    @property
    def required_columns(self) -> tuple[str, ...]:
        return (self.references_column,)

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        references = column(kwargs, self.references_column, self.__name__, len(texts), "reference captions")
        if self.normalize:
            texts = [normalize_caption(t) for t in texts]
        values = []
        for i, (text, refs) in enumerate(zip(texts, references)):
            if isinstance(refs, str) or len(refs) == 0:
                raise ValueError(f"sample {i} has no reference captions; the {self.__name__} reward needs at least one.")
            if self.normalize:
                refs = [normalize_caption(r) for r in refs]
            values.append(sentence_bleu(text, refs, n=self.n, smoothing=self.smoothing)[-1])
        return check_finite(self.__name__, values, texts)


def get_bleu_reward(n: int = 4, smoothing: float = 1.0, references_column: str = "captions", normalize: bool = True) -> _BleuReward:
    """Smoothed sentence BLEU-n (`hf_vidcap.metrics.sentence_bleu`) of each completion against its references.

    Args:
        n (`int`, *optional*, defaults to `4`): BLEU order.
        smoothing (`float`, *optional*, defaults to `1.0`): add-s smoothing of the k >= 2 precisions (Lin & Och).
        references_column (`str`, *optional*, defaults to `"captions"`): the reference captions column.
        normalize (`bool`, *optional*, defaults to `True`): lower-case and strip punctuation first.

    Returns:
        A picklable callable named ``bleu_<n>``.

    Example:
        >>> from hf_vidcap.rewards import get_bleu_reward
        >>> reward = get_bleu_reward(n=2)
        >>> [round(s, 4) for s in reward(["a red circle moves left"], captions=[["a red circle moves to the left"]])]
        [0.5996]
    """
    if n < 1:
        raise ValueError(f"n ({n}) must be >= 1.")
    return _BleuReward(n, smoothing, references_column, normalize)


class _DiversityReward:
    __name__ = "diversity"

    def __init__(self, orders: tuple[int, ...], smoothing: float, normalize: bool):
        self.orders = orders
        self.smoothing = smoothing
        self.normalize = normalize

    def __call__(self, completions: Sequence, **kwargs) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        if self.normalize:
            texts = [normalize_caption(t) for t in texts]
        groups = group_ids(kwargs, self.__name__, len(texts))
        members: dict = defaultdict(list)
        for i, group in enumerate(groups):
            members[group].append(i)
        values: list[float | None] = [None] * len(texts)
        cache: dict[tuple[str, str], float] = {}
        for indices in members.values():
            k = len(indices)
            if k < 2:
                continue  # one sample has nothing to differ from: not applicable
            for j in indices:
                total = 0.0
                for other in indices:
                    if other == j:
                        continue  # d(y, y) = 0
                    pair = (texts[j], texts[other]) if texts[j] <= texts[other] else (texts[other], texts[j])
                    if pair not in cache:
                        cache[pair] = bleu_distance(pair[0], pair[1], self.orders, self.smoothing)
                    total += cache[pair]
                values[j] = 2.0 / k * total
        return check_finite(self.__name__, values, texts)


def get_diversity_reward(orders: Sequence[int] = (3, 4), smoothing: float = 1.0, normalize: bool = True) -> _DiversityReward:
    """Sequence-level exploration diversity: sample j of a video gets ``(2 / K) * sum_k d(y_j, y_k)`` over the K
    samples of the same video (``group_ids``), with d = `bleu_distance` (BLEU-3 + BLEU-4 by default, as the
    paper). The paper gives this term its own baseline, the mean pairwise distance ``(1 / K^2) sum_j sum_k d``;
    `VideoSCSTConfig(exploration_alpha=...)` trains the full objective (precision and diversity, each with its
    baseline) without this reward; as a plain reward it shares the trainer's baseline. A video with a single
    sample gets `None` (not applicable).

    Args:
        orders (`tuple[int]`, *optional*, defaults to `(3, 4)`): BLEU orders summed into the distance.
        smoothing (`float`, *optional*, defaults to `1.0`): BLEU smoothing.
        normalize (`bool`, *optional*, defaults to `True`): lower-case and strip punctuation first.

    Returns:
        A picklable callable named ``diversity``; needs the trainer's ``group_ids``.

    Example:
        >>> from hf_vidcap.rewards import get_diversity_reward
        >>> reward = get_diversity_reward()
        >>> # d(red, blue) = 2 - (1/3 * 1/3 * 1/2) ** (1/3) - (1/3 * 1/3 * 1/2 * 1) ** (1/4) = 1.13294; d(red, red) = 0
        >>> [round(r, 4) for r in reward(["a red circle", "a red circle", "a blue square"], group_ids=[0, 0, 0])]
        [0.7553, 0.7553, 1.5106]
    """
    orders = tuple(int(o) for o in orders)
    if not orders or min(orders) < 1:
        raise ValueError(f"orders ({orders}) must be a non-empty list of BLEU orders >= 1.")
    return _DiversityReward(orders, smoothing, normalize)

"""CIDEr-D (Vedantam et al., 2015), exactly as pycocoevalcap's ``Cider`` computes it.

The one implementation used by the CIDEr-D reward, the trainer's evaluation and the ``cider_d`` evaluate
module. Captions are split on whitespace (tokenise beforehand, as pycocoevalcap's PTB tokenizer does).

For each n = 1..4, a caption is a TF-IDF vector over its n-grams, ``tf * (log(N) - log(max(1, df)))`` with N
the number of videos in the document-frequency corpus. The score of a candidate c against references R is

    10 / |R| * sum_{r in R} mean_n [ sum_g min(c_g, r_g) * r_g / (|c| |r|) * exp(-(l_c - l_r)^2 / (2 sigma^2)) ]

with sigma = 6 and, as in the reference code, the "length" l counted as the number of bigrams.

Two ways to get document frequencies:
  * corpus mode (``CiderD()``): from the references passed to `compute_score`, one entry per video, exactly
    as pycocoevalcap does;
  * fixed mode (``CiderD.from_corpus(train_references)``): counted once over the training references and
    reused for every batch, as self-critical.pytorch does for SCST rewards. Reference vectors are then cached
    per reference set, so the K samples of a video and later epochs do not recompute them.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np

NGram = tuple[str, ...]


def ngram_counts(sentence: str, n: int = 4) -> Counter:
    """Counts of every k-gram, k = 1..n, of a whitespace-split sentence."""
    words = sentence.split()
    counts: Counter = Counter()
    for k in range(1, n + 1):
        for i in range(len(words) - k + 1):
            counts[tuple(words[i : i + k])] += 1
    return counts


def document_frequencies(references: Iterable[Sequence[str]], n: int = 4) -> Counter:
    """For each n-gram, the number of videos whose references contain it at least once."""
    frequencies: Counter = Counter()
    for refs in references:
        frequencies.update({gram for ref in refs for gram in ngram_counts(ref, n)})
    return frequencies


class _Vector:
    """TF-IDF weights of one sentence, split by n-gram order, with their norms and the bigram length."""

    __slots__ = ("weights", "norms", "length")

    def __init__(self, counts: Counter, df: Counter, log_num_docs: float, n: int):
        self.weights: list[dict[NGram, float]] = [{} for _ in range(n)]
        squares = [0.0] * n
        self.length = 0
        for gram, tf in counts.items():
            order = len(gram) - 1
            weight = tf * (log_num_docs - math.log(max(1.0, df.get(gram, 0.0))))
            self.weights[order][gram] = weight
            squares[order] += weight * weight
            if order == 1:  # pycocoevalcap's "length" counts bigrams, i.e. words - 1
                self.length += tf
        self.norms = [math.sqrt(s) for s in squares]


class CiderD:
    """CIDEr-D scorer.

    Args:
        n (`int`, *optional*, defaults to `4`): largest n-gram order.
        sigma (`float`, *optional*, defaults to `6.0`): standard deviation of the Gaussian length penalty.
        document_frequency (`Counter`, *optional*): fixed document frequencies; `None` = corpus mode.
        num_documents (`int`, *optional*): number of videos behind ``document_frequency`` (required with it).
        cache_size (`int`, *optional*, defaults to `100_000`): reference sets whose vectors are kept (fixed mode).
    """

    def __init__(
        self,
        n: int = 4,
        sigma: float = 6.0,
        document_frequency: Counter | None = None,
        num_documents: int | None = None,
        cache_size: int = 100_000,
    ):
        if n < 1:
            raise ValueError(f"n ({n}) must be >= 1.")
        if sigma <= 0:
            raise ValueError(f"sigma ({sigma}) must be positive.")
        if (document_frequency is None) != (num_documents is None):
            raise ValueError("document_frequency and num_documents must be given together (or neither).")
        if num_documents is not None and num_documents < 1:
            raise ValueError(f"num_documents ({num_documents}) must be >= 1.")
        self.n = n
        self.sigma = sigma
        self.document_frequency = document_frequency
        self.num_documents = num_documents
        self.cache_size = cache_size
        self._ref_cache: OrderedDict[tuple[str, ...], list[_Vector]] = OrderedDict()

    @classmethod
    def from_corpus(cls, references: Iterable[Sequence[str]], n: int = 4, sigma: float = 6.0, **kwargs) -> "CiderD":
        """Fixed document frequencies counted once over ``references`` (one list of captions per video)."""
        references = [list(refs) for refs in references]
        if not references:
            raise ValueError("references is empty: document frequencies need at least one video's captions.")
        return cls(n=n, sigma=sigma, document_frequency=document_frequencies(references, n), num_documents=len(references), **kwargs)

    def _similarity(self, hyp: _Vector, ref: _Vector) -> float:
        penalty = math.exp(-((hyp.length - ref.length) ** 2) / (2 * self.sigma**2))
        total = 0.0
        for order in range(self.n):
            ref_weights = ref.weights[order]
            value = 0.0
            for gram, weight in hyp.weights[order].items():
                ref_weight = ref_weights.get(gram, 0.0)
                value += min(weight, ref_weight) * ref_weight
            if hyp.norms[order] != 0 and ref.norms[order] != 0:
                value /= hyp.norms[order] * ref.norms[order]
            total += value * penalty
        return total / self.n

    def _reference_vectors(self, refs: Sequence[str], df: Counter, log_num_docs: float, cached: bool) -> list[_Vector]:
        if not cached:
            return [_Vector(ngram_counts(r, self.n), df, log_num_docs, self.n) for r in refs]
        key = tuple(refs)
        vectors = self._ref_cache.get(key)
        if vectors is None:
            vectors = [_Vector(ngram_counts(r, self.n), df, log_num_docs, self.n) for r in refs]
            self._ref_cache[key] = vectors
            if len(self._ref_cache) > self.cache_size:
                self._ref_cache.popitem(last=False)
        else:
            self._ref_cache.move_to_end(key)
        return vectors

    def compute_score(self, candidates: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[float, np.ndarray]:
        """Score each candidate against its references.

        Args:
            candidates (`list[str]`): one caption per sample.
            references (`list[list[str]]`): the reference captions of each sample (at least one each).

        Returns:
            `(mean, scores)`: the corpus score and the per-sample scores (`np.ndarray` of shape (N,)).
        """
        if len(candidates) != len(references):
            raise ValueError(
                f"got {len(candidates)} candidates but {len(references)} reference lists; pass one list per candidate."
            )
        for i, (candidate, refs) in enumerate(zip(candidates, references)):
            if not isinstance(candidate, str):
                raise TypeError(f"candidate {i} must be a string, got {type(candidate).__name__}.")
            if isinstance(refs, str) or len(refs) == 0:
                raise ValueError(f"sample {i} has no reference captions; every sample needs a non-empty list of strings.")
        if not candidates:
            return 0.0, np.zeros(0)
        fixed = self.document_frequency is not None
        if fixed:
            df, log_num_docs = self.document_frequency, math.log(self.num_documents)
        else:
            df, log_num_docs = document_frequencies(references, self.n), math.log(len(references))
        scores = np.empty(len(candidates))
        for i, (candidate, refs) in enumerate(zip(candidates, references)):
            hyp = _Vector(ngram_counts(candidate, self.n), df, log_num_docs, self.n)
            ref_vectors = self._reference_vectors(refs, df, log_num_docs, cached=fixed)
            scores[i] = 10.0 * sum(self._similarity(hyp, ref) for ref in ref_vectors) / len(ref_vectors)
        return float(scores.mean()), scores

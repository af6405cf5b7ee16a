"""Scoring maths shared by the rewards, the trainer's evaluation and the evaluate modules (one implementation of
each metric). The text metrics load without torch or transformers; the embedding-based ones (CLIP-S, retrieval,
zero-shot) import torch when first used."""

import importlib

from .bleu import corpus_bleu, sentence_bleu
from .cider import CiderD, document_frequencies, ngram_counts
from .clustering import cluster_purity
from .diversity import distinct_ngrams, distinct_twin_pairs, mbleu, self_bleu, vocabulary_size
from .java import JavaMetricUnavailableError, meteor, spice
from .rouge import corpus_rouge_l, sentence_rouge_l
from .text import normalize_caption, normalize_corpus

_TORCH_METRICS = {
    "clip_s": "clip_score", "ref_clip_s": "clip_score", "retrieval_ranks": "retrieval", "retrieval_recall": "retrieval",
    "generalized_zero_shot_accuracy": "zero_shot", "top_k_accuracy": "zero_shot",
}


def __getattr__(name: str):
    if name in _TORCH_METRICS:
        return getattr(importlib.import_module(f"{__name__}.{_TORCH_METRICS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "CiderD",
    "JavaMetricUnavailableError",
    "clip_s",
    "cluster_purity",
    "corpus_bleu",
    "corpus_rouge_l",
    "distinct_ngrams",
    "document_frequencies",
    "generalized_zero_shot_accuracy",
    "mbleu",
    "meteor",
    "ngram_counts",
    "normalize_caption",
    "normalize_corpus",
    "ref_clip_s",
    "retrieval_ranks",
    "retrieval_recall",
    "self_bleu",
    "distinct_twin_pairs",
    "sentence_bleu",
    "sentence_rouge_l",
    "spice",
    "top_k_accuracy",
    "vocabulary_size",
]

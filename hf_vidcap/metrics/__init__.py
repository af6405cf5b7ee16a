"""Scoring maths shared by the rewards, the trainer's evaluation and the evaluate modules (one implementation of
each metric)."""

from .bleu import corpus_bleu, sentence_bleu
from .cider import CiderD, document_frequencies, ngram_counts
from .clip_score import clip_s, ref_clip_s
from .diversity import distinct_ngrams, distinct_twin_pairs, mbleu, self_bleu, vocabulary_size
from .java import JavaMetricUnavailableError, meteor, spice
from .retrieval import retrieval_ranks, retrieval_recall
from .rouge import corpus_rouge_l, sentence_rouge_l
from .text import normalize_caption, normalize_corpus
from .zero_shot import generalized_zero_shot_accuracy, top_k_accuracy

__all__ = [
    "CiderD",
    "JavaMetricUnavailableError",
    "clip_s",
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

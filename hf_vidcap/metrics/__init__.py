"""Scoring maths shared by the rewards, the trainer's evaluation and the evaluate modules."""

from .bleu import corpus_bleu, sentence_bleu
from .cider import CiderD, document_frequencies, ngram_counts
from .text import normalize_caption

__all__ = ["CiderD", "corpus_bleu", "sentence_bleu", "document_frequencies", "ngram_counts", "normalize_caption"]

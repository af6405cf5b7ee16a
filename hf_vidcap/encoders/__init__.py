"""Frozen video/text encoders shared by rewards, metrics and evaluation."""

from .caption_classifier import CaptionClassifier
from .clip import BACKENDS, CLIPEmbedder, load_clip_embedder, ref_clip_scores

__all__ = ["BACKENDS", "CLIPEmbedder", "CaptionClassifier", "load_clip_embedder", "ref_clip_scores"]

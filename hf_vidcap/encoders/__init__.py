"""Frozen video/text encoders shared by rewards, metrics, evaluation and CLASTER's features."""

from .caption_classifier import CaptionClassifier
from .clip import BACKENDS, CLIPEmbedder, load_clip_embedder, ref_clip_scores
from .sentence import DEFAULT_SENTENCE_ENCODER, SentenceEmbedder, load_sentence_embedder, resolve_sentence_encoder
from .video_features import VideoFeatureExtractor, save_tiny_video_encoder, train_video_classifier

__all__ = [
    "BACKENDS",
    "CLIPEmbedder",
    "CaptionClassifier",
    "DEFAULT_SENTENCE_ENCODER",
    "SentenceEmbedder",
    "VideoFeatureExtractor",
    "load_clip_embedder",
    "load_sentence_embedder",
    "ref_clip_scores",
    "resolve_sentence_encoder",
    "save_tiny_video_encoder",
    "train_video_classifier",
]

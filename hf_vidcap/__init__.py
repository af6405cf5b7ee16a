"""hf_vidcap: reinforcement-learning fine-tuning of video captioning models on the Hugging Face stack.

TRL-style top level: ``from hf_vidcap import VideoSCSTConfig, VideoSCSTTrainer, VideoBlip2ForConditionalGeneration``.
The trainer (and TRL with it) is imported on first use, so that the models and metrics load without it.
"""

__version__ = "0.1.0.dev0"

import importlib

from . import models  # noqa: F401  (registers the Auto classes)
from .evaluation import evaluate_captioner
from .models import (
    AutoModelForVideoCaptioning,
    AutoVideoCaptionProcessor,
    OFAConfig,
    OFAForConditionalGeneration,
    OFAProcessor,
    VideoBlip2Config,
    VideoBlip2ForConditionalGeneration,
    VideoBlip2Processor,
    VideoCaptionProcessor,
    VideoGitConfig,
    VideoGitForCausalLM,
    VideoGitProcessor,
    get_default_lora_config,
)
from .pipelines import VideoCaptioningPipeline, ZeroShotVideoClassificationPipeline, register_pipelines

register_pipelines()  # pipeline("video-captioning") and pipeline("zero-shot-video-classification")

_LAZY = {
    "VideoSCSTConfig": "hf_vidcap.trainer",
    "VideoSCSTTrainer": "hf_vidcap.trainer",
    "register_baseline": "hf_vidcap.trainer",
    "register_rollout": "hf_vidcap.trainer",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hf_vidcap' has no attribute {name!r}")


__all__ = [
    "AutoModelForVideoCaptioning",
    "AutoVideoCaptionProcessor",
    "OFAConfig",
    "OFAForConditionalGeneration",
    "OFAProcessor",
    "VideoBlip2Config",
    "VideoBlip2ForConditionalGeneration",
    "VideoBlip2Processor",
    "VideoCaptionProcessor",
    "VideoGitConfig",
    "VideoGitForCausalLM",
    "VideoGitProcessor",
    "VideoCaptioningPipeline",
    "VideoSCSTConfig",
    "VideoSCSTTrainer",
    "ZeroShotVideoClassificationPipeline",
    "__version__",
    "evaluate_captioner",
    "get_default_lora_config",
    "register_baseline",
    "register_rollout",
]

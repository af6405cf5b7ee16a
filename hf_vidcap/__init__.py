"""hf_vidcap: reinforcement-learning fine-tuning of video captioning models on the Hugging Face stack."""

__version__ = "0.1.0.dev0"

from . import models  # noqa: F401  (registers the Auto classes)
from .evaluation import evaluate_captioner
from .models import VideoBlip2Config, VideoBlip2ForConditionalGeneration, VideoBlip2Processor, VideoCaptionProcessor, VideoGitConfig, VideoGitForCausalLM, VideoGitProcessor

__all__ = [
    "VideoBlip2Config",
    "VideoBlip2ForConditionalGeneration",
    "VideoBlip2Processor",
    "VideoCaptionProcessor",
    "VideoGitConfig",
    "VideoGitForCausalLM",
    "VideoGitProcessor",
    "__version__",
    "evaluate_captioner",
]

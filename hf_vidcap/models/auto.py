"""Registration of hf_vidcap's models with transformers' Auto classes (done on ``import hf_vidcap``)."""

from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText, AutoModelForSeq2SeqLM

from .blip2_video import VideoBlip2Config, VideoBlip2ForConditionalGeneration
from .git_video import VideoGitConfig, VideoGitForCausalLM
from .ofa import OFAConfig, OFAForConditionalGeneration


def register_auto_classes() -> None:
    AutoConfig.register(VideoBlip2Config.model_type, VideoBlip2Config, exist_ok=True)
    AutoModelForImageTextToText.register(VideoBlip2Config, VideoBlip2ForConditionalGeneration, exist_ok=True)
    AutoConfig.register(VideoGitConfig.model_type, VideoGitConfig, exist_ok=True)
    AutoModelForCausalLM.register(VideoGitConfig, VideoGitForCausalLM, exist_ok=True)
    AutoModelForImageTextToText.register(VideoGitConfig, VideoGitForCausalLM, exist_ok=True)
    AutoConfig.register(OFAConfig.model_type, OFAConfig, exist_ok=True)
    AutoModelForSeq2SeqLM.register(OFAConfig, OFAForConditionalGeneration, exist_ok=True)
    AutoModelForImageTextToText.register(OFAConfig, OFAForConditionalGeneration, exist_ok=True)

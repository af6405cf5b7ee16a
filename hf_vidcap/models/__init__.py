from .auto import VIDEO_CAPTIONERS, AutoModelForVideoCaptioning, AutoVideoCaptionProcessor, register_auto_classes
from .blip2_video import (
    VideoBlip2Config,
    VideoBlip2ForConditionalGeneration,
    VideoBlip2Processor,
    create_tiny_video_blip2,
    get_tiny_video_blip2_config,
)
from .captioner import VideoCaptionerMixin, check_video_captioner, configure_captioner
from .checkpoints import PUBLISHED_PARAMETERS, SIGNIFICANT_DIGITS, checkpoint_config, stored_parameter_count
from .claster import ClasterConfig, ClasterForZeroShotVideoClassification, ClasterOutput
from .git_video import (
    VideoGitConfig,
    VideoGitForCausalLM,
    VideoGitProcessor,
    convert_legacy_git_state_dict,
    create_tiny_video_git,
    get_tiny_video_git_config,
)
from .lora import LORA_TARGET_MODULES, get_default_lora_config
from .ofa import (
    OFAConfig,
    OFAForConditionalGeneration,
    OFAProcessor,
    build_ofa_tokenizer,
    convert_ofa_state_dict,
    create_tiny_ofa,
    get_tiny_ofa_config,
)
from .processing_video_caption import VideoCaptionProcessor
from .tiny_checkpoints import TINY_MODEL_TYPES, save_tiny_checkpoint
from .vlm import VLM_FAMILIES, VideoVLMProcessor, as_video_captioner, supported_vlm_types

register_auto_classes()

__all__ = [
    "ClasterConfig",
    "ClasterForZeroShotVideoClassification",
    "ClasterOutput",
    "AutoModelForVideoCaptioning",
    "AutoVideoCaptionProcessor",
    "VIDEO_CAPTIONERS",
    "TINY_MODEL_TYPES",
    "save_tiny_checkpoint",
    "create_tiny_ofa",
    "get_tiny_ofa_config",
    "VideoCaptionerMixin",
    "check_video_captioner",
    "configure_captioner",
    "VLM_FAMILIES",
    "VideoVLMProcessor",
    "as_video_captioner",
    "supported_vlm_types",
    "OFAConfig",
    "OFAForConditionalGeneration",
    "OFAProcessor",
    "build_ofa_tokenizer",
    "convert_ofa_state_dict",
    "PUBLISHED_PARAMETERS",
    "SIGNIFICANT_DIGITS",
    "checkpoint_config",
    "stored_parameter_count",
    "LORA_TARGET_MODULES",
    "get_default_lora_config",
    "VideoBlip2Config",
    "VideoBlip2ForConditionalGeneration",
    "VideoBlip2Processor",
    "VideoCaptionProcessor",
    "VideoGitConfig",
    "VideoGitForCausalLM",
    "VideoGitProcessor",
    "convert_legacy_git_state_dict",
    "create_tiny_video_blip2",
    "create_tiny_video_git",
    "get_tiny_video_blip2_config",
    "get_tiny_video_git_config",
]

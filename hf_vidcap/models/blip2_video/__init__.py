from .configuration_blip2_video import VideoBlip2Config
from .modeling_blip2_video import VideoBlip2ForConditionalGeneration
from .processing_blip2_video import VideoBlip2Processor
from .tiny import create_tiny_video_blip2, get_tiny_video_blip2_config

__all__ = [
    "VideoBlip2Config",
    "VideoBlip2ForConditionalGeneration",
    "VideoBlip2Processor",
    "create_tiny_video_blip2",
    "get_tiny_video_blip2_config",
]

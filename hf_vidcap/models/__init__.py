from .auto import register_auto_classes
from .blip2_video import (
    VideoBlip2Config,
    VideoBlip2ForConditionalGeneration,
    VideoBlip2Processor,
    create_tiny_video_blip2,
    get_tiny_video_blip2_config,
)

register_auto_classes()

__all__ = [
    "VideoBlip2Config",
    "VideoBlip2ForConditionalGeneration",
    "VideoBlip2Processor",
    "create_tiny_video_blip2",
    "get_tiny_video_blip2_config",
]

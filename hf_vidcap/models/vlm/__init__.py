from .modeling_vlm import VLM_FAMILIES, VideoVLMCaptionerMixin, VLMFamily, as_video_captioner, supported_vlm_types
from .processing_vlm import DEFAULT_PROMPT, VideoVLMProcessor

__all__ = ["DEFAULT_PROMPT", "VLM_FAMILIES", "VLMFamily", "VideoVLMCaptionerMixin", "VideoVLMProcessor", "as_video_captioner", "supported_vlm_types"]

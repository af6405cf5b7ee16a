from .configuration_ofa import OFA_FRAME_FUSION_MODES, OFAConfig
from .convert_ofa import convert_ofa_key, convert_ofa_state_dict
from .modeling_ofa import OFAForConditionalGeneration, OFAModel
from .processing_ofa import OFA_CAPTION_PROMPT, OFAProcessor, build_ofa_tokenizer, location_token
from .tiny import create_tiny_ofa, get_tiny_ofa_config

__all__ = [
    "OFA_CAPTION_PROMPT",
    "OFA_FRAME_FUSION_MODES",
    "OFAConfig",
    "OFAForConditionalGeneration",
    "OFAModel",
    "OFAProcessor",
    "build_ofa_tokenizer",
    "convert_ofa_key",
    "convert_ofa_state_dict",
    "create_tiny_ofa",
    "get_tiny_ofa_config",
    "location_token",
]

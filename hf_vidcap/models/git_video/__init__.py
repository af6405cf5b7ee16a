from .configuration_git_video import GIT_FRAME_FUSION_MODES, VideoGitConfig
from .modeling_git_video import VideoGitForCausalLM, VideoGitModel, convert_legacy_git_state_dict
from .processing_git_video import VideoGitProcessor
from .tiny import create_tiny_video_git, get_tiny_video_git_config

__all__ = [
    "GIT_FRAME_FUSION_MODES",
    "VideoGitConfig",
    "VideoGitForCausalLM",
    "VideoGitModel",
    "VideoGitProcessor",
    "convert_legacy_git_state_dict",
    "create_tiny_video_git",
    "get_tiny_video_git_config",
]

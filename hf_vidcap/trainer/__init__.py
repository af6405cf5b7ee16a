from .scst_config import VideoSCSTConfig
from .scst_trainer import VideoSCSTTrainer, scst_loss

__all__ = ["VideoSCSTConfig", "VideoSCSTTrainer", "scst_loss"]

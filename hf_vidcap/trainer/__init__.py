from .checkpoints import CheckpointError, checkpoint_problems, resolve_resume_checkpoint
from .scst_config import VideoSCSTConfig
from .scst_trainer import VideoSCSTTrainer, scst_loss

__all__ = ["CheckpointError", "VideoSCSTConfig", "VideoSCSTTrainer", "checkpoint_problems", "resolve_resume_checkpoint", "scst_loss"]

from .baselines import BASELINES, Baseline, compute_baselines, get_baseline, register_baseline
from .checkpoints import CheckpointError, checkpoint_problems, resolve_resume_checkpoint
from .claster_config import CENTROID_UPDATES, CLASTER_ABLATIONS, ClasterTrainingConfig
from .claster_trainer import ClasterCollator, ClasterTrainer, evaluate_zero_shot
from .losses import policy_loss, scst_loss
from .rollouts import ROLLOUTS, BeamRollout, RolloutStrategy, SampleRollout, get_rollout, register_rollout
from .scst_config import VideoSCSTConfig
from .scst_trainer import VideoSCSTTrainer

__all__ = [
    "BASELINES",
    "CENTROID_UPDATES",
    "CLASTER_ABLATIONS",
    "ClasterCollator",
    "ClasterTrainer",
    "ClasterTrainingConfig",
    "evaluate_zero_shot",
    "ROLLOUTS",
    "Baseline",
    "BeamRollout",
    "RolloutStrategy",
    "SampleRollout",
    "get_rollout",
    "register_rollout",
    "CheckpointError",
    "VideoSCSTConfig",
    "VideoSCSTTrainer",
    "checkpoint_problems",
    "compute_baselines",
    "get_baseline",
    "policy_loss",
    "register_baseline",
    "resolve_resume_checkpoint",
    "scst_loss",
]

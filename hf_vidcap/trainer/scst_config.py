"""Configuration of VideoSCSTTrainer."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

BASELINES = ("greedy",)


@dataclass
class VideoSCSTConfig(TrainingArguments):
    r"""
    Configuration for [`VideoSCSTTrainer`]: self-critical sequence training (SCST, Rennie et al., 2017) of a video
    captioner, optionally after a teacher-forced cross-entropy (XE) warm-up.

    Only the parameters specific to SCST are listed here; see [`~transformers.TrainingArguments`] for the rest.
    ``per_device_train_batch_size`` counts videos; each video yields ``num_generations`` sampled captions.

    > Parameters that control the data

    num_frames (`int`, *optional*, defaults to `8`):
        Frames sampled uniformly from each video (T).
    video_column (`str`, *optional*, defaults to `"video"`):
        Dataset column with the video (a path or a `datasets.Video(decode=False)` value).
    references_column (`str`, *optional*, defaults to `"captions"`):
        Dataset column with each video's reference captions (used by XE and by reference-based rewards).
    skip_corrupt_videos (`bool`, *optional*, defaults to `False`):
        Skip (and count) videos that cannot be decoded instead of raising.

    > Parameters that control generation

    num_generations (`int`, *optional*, defaults to `5`):
        Captions sampled per video (K).
    max_completion_length (`int`, *optional*, defaults to `20`):
        Maximum caption length in tokens, eos included.
    temperature (`float`, *optional*, defaults to `1.0`):
        Sampling temperature; the loss scores captions under the same temperature.
    top_k (`int`, *optional*, defaults to `0`):
        Sample from the ``top_k`` most likely tokens only (0 = no limit).
    top_p (`float`, *optional*, defaults to `1.0`):
        Nucleus sampling threshold (1.0 = no limit).

    > Parameters that control the objective

    baseline (`str`, *optional*, defaults to `"greedy"`):
        Reward baseline. ``"greedy"``: the reward of the video's greedy caption (Rennie et al.).
    reward_weights (`list[float]`, *optional*):
        Weight of each reward function (TRL's convention); all ones if `None`.
    xe_warmup_steps (`int`, *optional*, defaults to `0`):
        Optimizer steps trained with teacher-forced cross-entropy on the reference captions before SCST starts.
        Every SCST paper starts from an XE-trained captioner. ``xe_warmup_steps >= max_steps`` trains XE only.
    xe_learning_rate (`float`, *optional*):
        Learning rate during the XE warm-up (then ``learning_rate`` for SCST, which needs a much smaller one: a
        large RL step lets the policy reward-hack). `None` uses ``learning_rate`` throughout. Both follow
        ``lr_scheduler_type``.
    xe_captions_per_video (`int`, *optional*, defaults to `4`):
        Reference captions drawn (without replacement where possible) per video for each XE step.
    disable_dropout (`bool`, *optional*, defaults to `True`):
        Turn dropout off, so that the log-probabilities in the loss are those of the policy that sampled.

    > Parameters that control evaluation

    eval_num_beams (`int`, *optional*, defaults to `1`):
        Beams for evaluation decoding (1 = greedy).
    """

    _VALID_DICT_FIELDS = TrainingArguments._VALID_DICT_FIELDS

    # Overridden defaults.
    learning_rate: float = field(default=1e-5, metadata={"help": "Initial learning rate (the BLIP-2 video paper's SCST rate)."})
    logging_steps: float = field(default=10, metadata={"help": "Log every X updates steps."})
    remove_unused_columns: bool = field(
        default=False,
        metadata={"help": "Must stay False: rewards receive every dataset column by name."},
    )
    report_to: str | list[str] = field(default="none", metadata={"help": "Integrations to report to."})

    # Data.
    num_frames: int = field(default=8, metadata={"help": "Frames sampled uniformly from each video."})
    video_column: str = field(default="video", metadata={"help": "Dataset column with the video."})
    references_column: str = field(default="captions", metadata={"help": "Dataset column with reference captions."})
    skip_corrupt_videos: bool = field(default=False, metadata={"help": "Skip (and count) undecodable videos instead of raising."})

    # Generation.
    num_generations: int = field(default=5, metadata={"help": "Captions sampled per video (K)."})
    max_completion_length: int = field(default=20, metadata={"help": "Maximum caption length in tokens (eos included)."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature."})
    top_k: int = field(default=0, metadata={"help": "Top-k sampling (0 = off)."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling threshold (1.0 = off)."})

    # Objective.
    baseline: str = field(default="greedy", metadata={"help": f"Reward baseline, one of {list(BASELINES)}."})
    reward_weights: list[float] | None = field(default=None, metadata={"help": "Weight of each reward function."})
    xe_warmup_steps: int = field(default=0, metadata={"help": "Steps of teacher-forced XE before SCST starts."})
    xe_learning_rate: float | None = field(default=None, metadata={"help": "Learning rate of the XE warm-up."})
    xe_captions_per_video: int = field(default=4, metadata={"help": "Reference captions per video in an XE step."})
    disable_dropout: bool = field(default=True, metadata={"help": "Turn dropout off in the model."})

    # Evaluation.
    eval_num_beams: int = field(default=1, metadata={"help": "Beams for evaluation decoding (1 = greedy)."})

    def __post_init__(self):
        super().__post_init__()
        if self.remove_unused_columns:
            raise ValueError(
                "remove_unused_columns must be False for VideoSCSTTrainer: rewards receive the dataset columns by name."
            )
        if self.num_frames < 1:
            raise ValueError(f"num_frames ({self.num_frames}) must be >= 1.")
        if self.num_generations < 1:
            raise ValueError(f"num_generations ({self.num_generations}) must be >= 1.")
        if self.max_completion_length < 1:
            raise ValueError(f"max_completion_length ({self.max_completion_length}) must be >= 1.")
        if not self.temperature > 0:
            raise ValueError(f"temperature ({self.temperature}) must be > 0.")
        if self.top_k < 0:
            raise ValueError(f"top_k ({self.top_k}) must be >= 0 (0 = no limit).")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p ({self.top_p}) must be in (0, 1].")
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline ({self.baseline!r}) must be one of {list(BASELINES)}.")
        if self.xe_warmup_steps < 0:
            raise ValueError(f"xe_warmup_steps ({self.xe_warmup_steps}) must be >= 0.")
        if self.xe_learning_rate is not None and not self.xe_learning_rate > 0:
            raise ValueError(f"xe_learning_rate ({self.xe_learning_rate}) must be > 0.")
        if self.xe_learning_rate is not None and self.learning_rate <= 0:
            raise ValueError(f"learning_rate ({self.learning_rate}) must be > 0 when xe_learning_rate is set.")
        if self.xe_captions_per_video < 1:
            raise ValueError(f"xe_captions_per_video ({self.xe_captions_per_video}) must be >= 1.")
        if self.eval_num_beams < 1:
            raise ValueError(f"eval_num_beams ({self.eval_num_beams}) must be >= 1.")

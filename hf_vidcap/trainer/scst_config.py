"""Configuration of VideoSCSTTrainer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from transformers import TrainingArguments

from .baselines import BASELINES, get_baseline
from .rollouts import ROLLOUTS, get_rollout

SCALE_REWARDS = ("none", "group", "batch")
NONFINITE_REWARDS = ("raise", "skip")


# repr=False keeps TrainingArguments' repr, which masks hub_token (a generated dataclass repr would print it).
@dataclass(repr=False)
class VideoSCSTConfig(TrainingArguments):
    r"""
    Configuration for [`VideoSCSTTrainer`]: self-critical sequence training (SCST, Rennie et al., 2017) of a video
    captioner, optionally after a teacher-forced cross-entropy (XE) warm-up.

    Only the parameters specific to SCST are listed here; see [`~transformers.TrainingArguments`] for the rest.
    ``per_device_train_batch_size`` counts videos; each video yields ``num_generations`` sampled captions.

    > Parameters that control the data

    num_frames (`int`, *optional*, defaults to `8`):
        Frames sampled from each video (T).
    frame_sampling (`str`, *optional*, defaults to `"uniform"`):
        How training videos are sampled: ``"uniform"`` (segment centres), ``"random_segment"`` (one random frame
        per segment, new every epoch) or ``"headtail"`` (LAVIS). Evaluation always samples uniformly.
    short_video (`str`, *optional*, defaults to `"error"`):
        Videos with fewer than ``num_frames`` frames: ``"error"``, ``"repeat"`` or ``"pad"`` (see
        `sample_frame_indices`).
    video_decoder (`str`, *optional*, defaults to `"pyav"`):
        ``"pyav"``, ``"decord"`` or ``"torchcodec"`` (when installed).
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
    rollout (`str`, *optional*, defaults to `"sample"`):
        How the K captions per video are drawn. ``"sample"``: K multinomial samples (``temperature``, ``top_k``,
        ``top_p``), one batched generate call. ``"beam"``: the top K beams of one beam search with ``num_beams``
        beams (ReGen, WTF-RL and the BLIP-2 video paper train on beams). Either way the log-probabilities of the
        loss come from a teacher-forced forward pass with gradients, never from ``generate``.
    num_beams (`int`, *optional*):
        Beam width of ``rollout="beam"``; defaults to ``num_generations`` and must be >= it.

    > Parameters that control the objective

    baseline (`str`, *optional*, defaults to `"greedy"`):
        What is subtracted from each caption's reward:

        - ``"greedy"``: the reward of the video's greedy caption (SCST, Rennie et al. 2017), with sampled or beam
          rollouts.
        - ``"beam_vs_greedy"``: ReGen eq. 3, ``(r(w_b) - r(w_g)) grad log p(w_b)``: the same greedy baseline for
          beam-searched captions; requires ``rollout="beam"``.
        - ``"leave_one_out"``: the mean reward of the video's other K - 1 captions ("new self-critical",
          self-critical.pytorch; the same estimator as TRL's RLOO); requires K >= 2.
        - ``"beam_mean"``: the mean reward of the video's K beams, the caption itself included (the BLIP-2 video
          captioning paper: 5 beams, mean CIDEr); requires ``rollout="beam"``.
        - ``"none"``: no baseline, for rewards that carry their own (WTF-RL's contrastive reward, whose negatives
          are the strongest captions of the batch).
    scale_rewards (`str`, *optional*, defaults to `"none"`):
        Advantage normalisation (TRL's name and values): ``"group"`` divides each video's advantages by the
        standard deviation of its K rewards, ``"batch"`` by that of all the rewards of the global batch,
        ``"none"`` leaves them. All-equal rewards give zero advantages (never NaN).
    length_normalization (`bool`, *optional*, defaults to `False`):
        Use each caption's mean token log-probability instead of the sum (the sequence log-probability).
    entropy_coef (`float`, *optional*, defaults to `0.0`):
        Entropy bonus: subtract ``entropy_coef`` times the mean per-token entropy of the policy over the captions.
    beta (`float`, *optional*, defaults to `0.0`):
        KL penalty to the initial policy (TRL's name), the per-token estimator ``exp(q - p) - (q - p) - 1`` with p,
        q the policy and reference log-probabilities of the caption tokens. With a PEFT model the reference is
        the same model with its adapters disabled; otherwise a frozen copy of the initial model is kept.
    reward_weights (`list[float]`, *optional*):
        Weight of each reward function (TRL's convention); all ones if `None`.
    nonfinite_rewards (`str`, *optional*, defaults to `"raise"`):
        A NaN or infinite reward: ``"raise"`` stops with an error naming the reward and the sample; ``"skip"``
        drops the caption from the loss (and its whole video when the video's baseline is not finite), counted in
        the ``skipped_rewards`` metric.
    xe_weight (`float`, *optional*, defaults to `0.0`):
        Mixed objective ``L_RL + xe_weight * L_XE`` after the warm-up (teacher-forced cross-entropy on
        ``xe_captions_per_video`` references per video).
    teacher_forcing_weight (`float`, *optional*, defaults to `0.0`):
        Weighted teacher forcing (WTF-RL, eq. 3): the video's reference captions (``xe_captions_per_video`` of
        them) are scored by the reward functions like generated captions and added as extra trajectories,
        ``- teacher_forcing_weight * r(x_gt) * log p(x_gt)`` (no baseline: the weight is the reward).
    policy_weight (`float`, *optional*, defaults to `1.0`):
        Weight of the policy-gradient term over the drawn captions. ``0`` with ``teacher_forcing_weight > 0`` is
        WTF-RL's "WTF" ablation: only the reference captions are trajectories, while the drawn captions still
        serve the rewards (the contrastive reward's caption pool, the discriminator's online update). ``0`` needs
        another term (``teacher_forcing_weight``, ``xe_weight``) or the run would train nothing.
    exploration_alpha (`float`, *optional*):
        Sequence-level exploration (Chen & Jin, eq. 15-16): the loss becomes ``alpha * L_precision + (1 - alpha) *
        L_diversity``. The precision term is the reward functions with ``baseline``; the diversity term rewards
        sample j of a video with ``(2 / K) * sum_k d(y_j, y_k)`` (d = BLEU-3 + BLEU-4 distance) against its own
        baseline, the video's mean pairwise distance. The paper uses 0.75. Requires ``rollout="sample"`` and
        K >= 2.
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

    > Parameters that control speed

    cache_video_features (`bool`, *optional*, defaults to `False`):
        Keep each video's frozen visual features in memory and reuse them in later epochs instead of running the
        vision tower again: the language-model inputs when the whole visual path (vision tower, Q-Former,
        projection) is frozen, else the vision tower's outputs when only it is frozen. Needs a frozen vision tower
        and a video id (``id_column``) or path per sample.
    feature_cache_dir (`str`, *optional*):
        With ``cache_video_features``, also store the features on disk there (one file per video, split by a digest
        of the frozen weights, the frames, resolution and normalisation; see `VisionFeatureCache`), so that later
        runs read them instead of computing them. Put it next to the dataset (e.g. ``data/msrvtt/.feature_cache``).
    id_column (`str`, *optional*, defaults to `"video_id"`):
        Column naming each video (errors, caches).

    > Parameters that control logging and evaluation

    log_completions (`bool`, *optional*, defaults to `False`):
        Every ``log_completions_steps`` steps, log a table of sampled captions with their rewards and advantages
        (printed, appended to ``<output_dir>/completions.jsonl`` and kept in ``trainer.completions_log``).
    log_completions_steps (`int`, *optional*):
        Defaults to ``logging_steps``.
    num_completions_to_print (`int`, *optional*, defaults to `8`):
        Rows of the table.
    eval_num_beams (`int`, *optional*, defaults to `1`):
        Beams for evaluation decoding (1 = greedy). Evaluation logs ``eval_cider_d``, ``eval_bleu_4``, ...; use
        ``metric_for_best_model="cider_d"`` with ``load_best_model_at_end`` to keep the best checkpoint.
    training_curves (`bool`, *optional*, defaults to `True`):
        Write ``<output_dir>/training_curves.png`` at the end of training (rewards per function, reward std,
        losses, KL / entropy, evaluation metrics over steps; needs matplotlib).
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
    num_frames: int = field(default=8, metadata={"help": "Frames sampled from each video."})
    frame_sampling: str = field(default="uniform", metadata={"help": "uniform, random_segment or headtail (training)."})
    short_video: str = field(default="error", metadata={"help": "Videos shorter than num_frames: error, repeat or pad."})
    video_decoder: str = field(default="pyav", metadata={"help": "pyav, decord or torchcodec."})
    video_column: str = field(default="video", metadata={"help": "Dataset column with the video."})
    references_column: str = field(default="captions", metadata={"help": "Dataset column with reference captions."})
    skip_corrupt_videos: bool = field(default=False, metadata={"help": "Skip (and count) undecodable videos instead of raising."})

    # Generation.
    num_generations: int = field(default=5, metadata={"help": "Captions sampled per video (K)."})
    max_completion_length: int = field(default=20, metadata={"help": "Maximum caption length in tokens (eos included)."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature."})
    top_k: int = field(default=0, metadata={"help": "Top-k sampling (0 = off)."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling threshold (1.0 = off)."})
    rollout: str = field(default="sample", metadata={"help": f"How captions are drawn: a registered name, built in: {list(ROLLOUTS)}."})
    num_beams: int | None = field(default=None, metadata={"help": "Beam width of beam rollouts (default: num_generations)."})

    # Objective.
    baseline: str = field(default="greedy", metadata={"help": f"Reward baseline: a registered name, built in: {list(BASELINES)}."})
    scale_rewards: str = field(default="none", metadata={"help": f"Advantage normalisation, one of {list(SCALE_REWARDS)}."})
    length_normalization: bool = field(default=False, metadata={"help": "Mean instead of summed token log-probabilities."})
    entropy_coef: float = field(default=0.0, metadata={"help": "Weight of the entropy bonus."})
    beta: float = field(default=0.0, metadata={"help": "Weight of the KL penalty to the initial policy."})
    reward_weights: list[float] | None = field(default=None, metadata={"help": "Weight of each reward function."})
    nonfinite_rewards: str = field(default="raise", metadata={"help": f"NaN/inf rewards, one of {list(NONFINITE_REWARDS)}."})
    xe_weight: float = field(default=0.0, metadata={"help": "Weight of the XE term mixed into the RL loss."})
    teacher_forcing_weight: float = field(default=0.0, metadata={"help": "Weight of WTF-RL's weighted teacher forcing."})
    policy_weight: float = field(default=1.0, metadata={"help": "Weight of the policy-gradient term (0: WTF-RL's WTF ablation)."})
    exploration_alpha: float | None = field(default=None, metadata={"help": "Precision weight of the exploration objective."})
    xe_warmup_steps: int = field(default=0, metadata={"help": "Steps of teacher-forced XE before SCST starts."})
    xe_learning_rate: float | None = field(default=None, metadata={"help": "Learning rate of the XE warm-up."})
    xe_captions_per_video: int = field(default=4, metadata={"help": "Reference captions per video in an XE step."})
    disable_dropout: bool = field(default=True, metadata={"help": "Turn dropout off in the model."})

    # Speed.
    cache_video_features: bool = field(default=False, metadata={"help": "Reuse frozen visual features across epochs."})
    feature_cache_dir: str | None = field(default=None, metadata={"help": "On-disk cache of frozen visual features."})
    id_column: str = field(default="video_id", metadata={"help": "Column naming each video."})

    # Logging and evaluation.
    log_completions: bool = field(default=False, metadata={"help": "Log a table of sampled captions and rewards."})
    log_completions_steps: int | None = field(default=None, metadata={"help": "Steps between tables (default logging_steps)."})
    num_completions_to_print: int = field(default=8, metadata={"help": "Rows of the completions table."})
    eval_num_beams: int = field(default=1, metadata={"help": "Beams for evaluation decoding (1 = greedy)."})
    training_curves: bool = field(default=True, metadata={"help": "Write <output_dir>/training_curves.png at the end."})

    def __getstate__(self) -> dict:
        # transformers' Trainer pickles its arguments into every checkpoint and every pushed folder
        # (training_args.bin): never with the token in it.
        return {key: None if key.endswith("_token") else value for key, value in self.__dict__.items()}

    def __post_init__(self):
        if self.report_to is None or self.report_to == [None]:  # HfArgumentParser's value when --report_to is absent
            self.report_to = "none"
        try:
            super().__post_init__()
        except ValueError as error:
            if "bf16" in str(error) or "fp16" in str(error):
                raise ValueError(
                    f"{error} This config asks for {'bf16' if self.bf16 else 'fp16'} mixed precision, which needs a GPU that "
                    "supports it; on this machine pass --bf16 false --fp16 false (full precision), or --use_cpu true to "
                    "run on the CPU."
                ) from None
            raise
        if self.remove_unused_columns:
            raise ValueError(
                "remove_unused_columns must be False for VideoSCSTTrainer: rewards receive the dataset columns by name."
            )
        for name in ("learning_rate", "xe_learning_rate"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} ({value}) must be a finite number > 0 (with 0 nothing trains); e.g. 1e-5.")
        if self.num_frames < 1:
            raise ValueError(f"num_frames ({self.num_frames}) must be >= 1.")
        from ..data.sampling import SAMPLING_MODES, SHORT_VIDEO_POLICIES
        from ..data.video import DECODERS

        if self.frame_sampling not in SAMPLING_MODES:
            raise ValueError(f"frame_sampling {self.frame_sampling!r} is unknown; use one of {SAMPLING_MODES}.")
        if self.short_video not in SHORT_VIDEO_POLICIES:
            raise ValueError(f"short_video {self.short_video!r} is unknown; use one of {SHORT_VIDEO_POLICIES}.")
        if self.video_decoder not in DECODERS:
            raise ValueError(f"video_decoder {self.video_decoder!r} is unknown; use one of {DECODERS}.")
        if self.cache_video_features and self.frame_sampling != "uniform":
            raise ValueError(
                f"cache_video_features reuses each video's features, but frame_sampling={self.frame_sampling!r} draws "
                "new frames every epoch; use frame_sampling='uniform' or turn the cache off."
            )
        if self.feature_cache_dir is not None and not self.cache_video_features:
            raise ValueError("feature_cache_dir needs cache_video_features=True (it is the on-disk level of that cache).")
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
        if self.num_beams is None:
            self.num_beams = self.num_generations
        # Each registered rollout strategy and baseline says what it needs (hf_vidcap.trainer.rollouts, .baselines);
        # unknown names list the registered ones.
        get_rollout(self.rollout).check_config(self)
        get_baseline(self.baseline).check_config(self)
        if self.scale_rewards not in SCALE_REWARDS:
            raise ValueError(f"scale_rewards ({self.scale_rewards!r}) must be one of {list(SCALE_REWARDS)}.")
        if self.scale_rewards == "group" and self.num_generations < 2:
            raise ValueError("scale_rewards='group' needs num_generations >= 2 (a std over one reward is 0).")
        if self.nonfinite_rewards not in NONFINITE_REWARDS:
            raise ValueError(f"nonfinite_rewards ({self.nonfinite_rewards!r}) must be one of {list(NONFINITE_REWARDS)}.")
        for name in ("entropy_coef", "beta", "xe_weight", "teacher_forcing_weight", "policy_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} ({value}) must be a finite number >= 0.")
        if self.policy_weight == 0 and self.teacher_forcing_weight == 0 and self.xe_weight == 0:
            raise ValueError(
                "policy_weight is 0 and so are teacher_forcing_weight and xe_weight: after the XE warm-up nothing would "
                "train. Set policy_weight > 0 (RL), or teacher_forcing_weight > 0 (WTF-RL's WTF), or xe_weight > 0."
            )
        if self.exploration_alpha is not None:
            if not 0 <= self.exploration_alpha <= 1:
                raise ValueError(f"exploration_alpha ({self.exploration_alpha}) must be in [0, 1] (the paper uses 0.75).")
            if self.rollout != "sample" or self.num_generations < 2:
                raise ValueError(
                    "exploration_alpha needs rollout='sample' and num_generations >= 2: the diversity term compares "
                    "the K samples of a video."
                )
        if self.reward_weights is not None:
            if len(self.reward_weights) == 0 or not all(math.isfinite(float(w)) for w in self.reward_weights):
                raise ValueError(f"reward_weights ({self.reward_weights}) must be a non-empty list of finite numbers.")
        if self.log_completions_steps is not None and self.log_completions_steps < 1:
            raise ValueError(f"log_completions_steps ({self.log_completions_steps}) must be >= 1.")
        if self.num_completions_to_print < 1:
            raise ValueError(f"num_completions_to_print ({self.num_completions_to_print}) must be >= 1.")
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

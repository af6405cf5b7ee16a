"""Configuration of ClasterTrainer."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

CENTROID_UPDATES = ("reinforce", "sgd", "frozen")
# The rows of CLASTER's Table 1 as (ClasterConfig settings, ClasterTrainingConfig settings).
CLASTER_ABLATIONS: dict[str, tuple[dict, dict]] = {
    "no_clustering": ({"clustering": "none"}, {"centroid_update": "frozen"}),
    "random_clustering": ({"clustering": "random"}, {"centroid_update": "frozen"}),
    "kmeans": ({"clustering": "kmeans"}, {"centroid_update": "frozen"}),
    "without_semantic_embeddings": ({"clustering": "kmeans", "use_semantic_embeddings": False}, {"centroid_update": "reinforce"}),
    "without_rl": ({"clustering": "kmeans"}, {"centroid_update": "sgd"}),
    "claster": ({"clustering": "kmeans"}, {"centroid_update": "reinforce"}),
}


# repr=False keeps TrainingArguments' repr, which masks hub_token.
@dataclass(repr=False)
class ClasterTrainingConfig(TrainingArguments):
    r"""
    Configuration for [`ClasterTrainer`]: CLASTER's training (Gowda et al., ECCV 2022, Sec. 3-4) on pre-computed
    video features. The model's own switches (``clustering``, ``use_semantic_embeddings``, ...) are in
    [`ClasterConfig`]; this config holds how it is trained. Only CLASTER's parameters are listed here; see
    [`~transformers.TrainingArguments`] for the rest (the defaults below follow the paper: Adam, lr 1e-4, 10,000
    iterations; eq. 3's weight regulariser is the model's ``l2_regularization``, so ``weight_decay`` stays 0).

    > Parameters of the stages before the main loop

    projection_steps (`int`, *optional*, defaults to `500`):
        Full-batch Adam steps fitting the semantic-to-visual MLP a'(y) to the training videos by least squares
        (Sec. 3.2) before clustering; a' is frozen afterwards (the centroids live in its space).
    projection_learning_rate (`float`, *optional*, defaults to `1e-3`):
        Learning rate of that fit.
    kmeans_iterations (`int`, *optional*, defaults to `100`):
        Lloyd iterations of the K-means initialisation of the centroids.

    > Parameters of the centroid update

    centroid_update (`str`, *optional*, defaults to `"reinforce"`):
        How the centroids move during training: ``"reinforce"`` (eqs. 4-5, CLASTER), ``"sgd"`` (the centroids are
        trained parameters of the loss: Table 1's "w/o RL") or ``"frozen"`` (they keep their initialisation:
        Table 1's "K-means" and "random clustering" rows).
    centroid_learning_rates (`list[float]`, *optional*, defaults to `[0.1, 0.01, 0.001]`):
        alpha of eq. 5 over the iteration schedule.
    centroid_sgd_learning_rate (`float`, *optional*):
        With ``centroid_update="sgd"``: the centroids' own learning rate (an Adam parameter group); `None` uses
        ``learning_rate``. Choose it on validation like any arm's rate.
    centroid_milestones (`list[int]`, *optional*, defaults to `[1000, 2000]`):
        Iterations (optimizer steps) at which alpha moves to the next value (the paper: 0.1 for the first 1,000,
        0.01 for the next 1,000, then 0.001).

    > Parameters of the generalised zero-shot bias detector

    seen_detection_quantile (`float`, *optional*, defaults to `0.05`):
        After training, ``model.config.seen_detection_threshold`` is set to this quantile of the highest
        seen-class probability on held-out seen videos (the eval dataset; the training set without one), so that
        about 95% of seen videos are kept in the seen classes.
    """

    learning_rate: float = field(default=1e-4, metadata={"help": "Adam learning rate of the MLPs (the paper's 1e-4)."})
    max_steps: int = field(default=10_000, metadata={"help": "Training iterations (the paper's 10,000 RL iterations)."})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Videos per step."})
    lr_scheduler_type: str = field(default="constant", metadata={"help": "The paper keeps Adam's rate fixed."})
    logging_steps: float = field(default=100, metadata={"help": "Log every X updates steps."})
    report_to: str | list[str] = field(default="none", metadata={"help": "Integrations to report to."})
    remove_unused_columns: bool = field(default=False, metadata={"help": "Keep the feature column (the collator reads it)."})
    save_strategy: str = field(default="no", metadata={"help": "Checkpoint saving strategy."})
    features_column: str = field(default="video_features", metadata={"help": "Dataset column with each video's feature vector."})
    label_column: str = field(default="label", metadata={"help": "Dataset column with each video's class index."})

    projection_steps: int = field(default=500, metadata={"help": "Least-squares steps of a'(y) before clustering."})
    projection_learning_rate: float = field(default=1e-3, metadata={"help": "Learning rate of the a'(y) fit."})
    kmeans_iterations: int = field(default=100, metadata={"help": "Lloyd iterations of the K-means initialisation."})

    centroid_update: str = field(default="reinforce", metadata={"help": "reinforce (CLASTER), sgd (w/o RL) or frozen."})
    centroid_learning_rates: list[float] = field(default_factory=lambda: [0.1, 0.01, 0.001], metadata={"help": "alpha of eq. 5 over the schedule."})
    centroid_sgd_learning_rate: float | None = field(default=None, metadata={"help": "Centroid learning rate with centroid_update=sgd (default: learning_rate)."})
    centroid_milestones: list[int] = field(default_factory=lambda: [1000, 2000], metadata={"help": "Steps at which alpha changes."})

    seen_detection_quantile: float = field(default=0.05, metadata={"help": "Quantile of held-out seen confidence used as the GZSL threshold."})

    def __post_init__(self):
        if self.report_to is None or self.report_to == [None]:  # HfArgumentParser's value when --report_to is absent
            self.report_to = "none"
        super().__post_init__()
        if self.centroid_update not in CENTROID_UPDATES:
            raise ValueError(f"centroid_update {self.centroid_update!r} is unknown; use one of {CENTROID_UPDATES}.")
        if len(self.centroid_learning_rates) != len(self.centroid_milestones) + 1:
            raise ValueError(
                f"centroid_learning_rates ({len(self.centroid_learning_rates)} values) needs one more value than "
                f"centroid_milestones ({len(self.centroid_milestones)}): one alpha before, between and after them."
            )
        if any(a <= 0 for a in self.centroid_learning_rates):
            raise ValueError(f"centroid_learning_rates ({self.centroid_learning_rates}) must be positive.")
        if list(self.centroid_milestones) != sorted(self.centroid_milestones) or any(m <= 0 for m in self.centroid_milestones):
            raise ValueError(f"centroid_milestones ({self.centroid_milestones}) must be positive and increasing.")
        if self.centroid_sgd_learning_rate is not None and self.centroid_sgd_learning_rate <= 0:
            raise ValueError(f"centroid_sgd_learning_rate ({self.centroid_sgd_learning_rate}) must be positive.")
        if self.projection_steps < 0 or self.kmeans_iterations < 1:
            raise ValueError("projection_steps must be >= 0 and kmeans_iterations >= 1.")
        if not 0 <= self.seen_detection_quantile < 1:
            raise ValueError(f"seen_detection_quantile ({self.seen_detection_quantile}) must be in [0, 1).")

    def centroid_learning_rate(self, step: int) -> float:
        """alpha at optimizer step ``step`` (0-based)."""
        for milestone, alpha in zip(self.centroid_milestones, self.centroid_learning_rates):
            if step < milestone:
                return alpha
        return self.centroid_learning_rates[-1]

"""Configuration of CLASTER (Gowda et al., "CLASTER: Clustering with Reinforcement Learning for Zero-Shot Action
Recognition", ECCV 2022)."""

from __future__ import annotations

from transformers import PretrainedConfig

CLUSTERINGS = ("kmeans", "random", "none")
FEATURE_NORMALIZATIONS = ("standardize", "none")


class ClasterConfig(PretrainedConfig):
    r"""Configuration of a [`ClasterForZeroShotVideoClassification`].

    The model classifies pre-computed video features (one vector per video from a frozen video encoder) into action
    classes described by sentence embeddings of their names; classes without training videos (unseen) are
    recognised through those embeddings.

    Args:
        visual_size (`int`, *optional*, defaults to 768): size of the video features x (the paper: 8192, I3D RGB +
            flow).
        semantic_size (`int`, *optional*, defaults to 384): size of the class embeddings a(y) (384: all-MiniLM-L6-v2).
        hidden_size (`int`, *optional*, defaults to 512): width of the two MLPs of Sec. 3.2-3.3 (the paper: 8192).
        classifier_hidden_size (`int`, *optional*): width of the classifier V (defaults to ``hidden_size``).
        num_clusters (`int`, *optional*, defaults to 6): K, the number of centroids (the paper's choice on UCF-101).
        clustering (`str`, *optional*, defaults to `"kmeans"`): how the centroids start: ``"kmeans"`` (the paper),
            ``"random"`` (means of a random assignment of the training videos: Table 1's "random clustering") or
            ``"none"`` (no centroids, omega = psi: Table 1's "no clustering"). How they then move (REINFORCE, SGD,
            not at all) is the trainer's ``centroid_update``.
        use_semantic_embeddings (`bool`, *optional*, defaults to `True`): psi = [x, phi(x)] (the visual-semantic
            representation); `False` clusters and classifies x alone (Table 1's "CLASTER w/o SE").
        rectification_neighbors (`int`, *optional*, defaults to 3): k of the semantic rectification of unseen
            classes (eq. 6); 0 turns it off.
        l2_regularization (`float`, *optional*, defaults to 5e-4): lambda of eq. 3's regulariser, added to the loss
            as (lambda / 2) times the squared norm of every trained weight except the centroids, which is the
            gradient of the paper's Adam weight decay 5e-4.
        semantic_regression_weight (`float`, *optional*, defaults to 1.0): weight of the mean-squared-error loss that
            makes phi(x) estimate the projected class embedding a'(y) (the centroids live in [x, a'(y)] space; the
            paper says phi estimates the semantic vector without giving its loss).
        class_names (`list[str]`, *optional*): every class, seen and unseen, in label order.
        seen_classes (`list[int]`, *optional*): indices of the seen (training) classes; the others are unseen.
        feature_normalization (`str`, *optional*, defaults to `"standardize"`): ``"standardize"`` scales every
            feature dimension by the training videos' mean and standard deviation (set by [`ClasterTrainer`], saved
            with the weights); ``"none"`` uses the encoder's features as they are. The paper does not say; raw
            features of some encoders have norms in the tens, which slows the MLPs at the paper's learning rate.
        seen_detection_threshold (`float`, *optional*): the generalised zero-shot bias detector: a video whose highest
            seen-class probability is below it is sent to the unseen classes. Set by [`ClasterTrainer`] on held-out
            seen videos.
    """

    model_type = "claster"

    def __init__(
        self,
        visual_size: int = 768,
        semantic_size: int = 384,
        hidden_size: int = 512,
        classifier_hidden_size: int | None = None,
        num_clusters: int = 6,
        clustering: str = "kmeans",
        use_semantic_embeddings: bool = True,
        rectification_neighbors: int = 3,
        l2_regularization: float = 5e-4,
        semantic_regression_weight: float = 1.0,
        class_names: list[str] | None = None,
        seen_classes: list[int] | None = None,
        feature_normalization: str = "standardize",
        seen_detection_threshold: float | None = None,
        **kwargs,
    ):
        for name, value in (("visual_size", visual_size), ("semantic_size", semantic_size), ("hidden_size", hidden_size), ("num_clusters", num_clusters)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} ({value!r}) must be a positive integer.")
        if clustering not in CLUSTERINGS:
            raise ValueError(f"clustering {clustering!r} is unknown; use one of {CLUSTERINGS}.")
        if feature_normalization not in FEATURE_NORMALIZATIONS:
            raise ValueError(f"feature_normalization {feature_normalization!r} is unknown; use one of {FEATURE_NORMALIZATIONS}.")
        if rectification_neighbors < 0:
            raise ValueError(f"rectification_neighbors ({rectification_neighbors}) must be >= 0.")
        if l2_regularization < 0 or semantic_regression_weight < 0:
            raise ValueError("l2_regularization and semantic_regression_weight must be >= 0.")
        class_names = list(class_names or [])
        if len(set(class_names)) != len(class_names):
            raise ValueError("class_names holds duplicates; every class needs its own name.")
        seen_classes = sorted(int(c) for c in (seen_classes if seen_classes is not None else range(len(class_names))))
        if len(set(seen_classes)) != len(seen_classes) or any(c < 0 or c >= len(class_names) for c in seen_classes):
            raise ValueError(f"seen_classes must be distinct indices into class_names (0..{len(class_names) - 1}).")
        if class_names and len(seen_classes) < 2:
            raise ValueError("CLASTER needs at least two seen classes to train its classifier.")
        if class_names and len(seen_classes) < len(class_names) and rectification_neighbors > len(seen_classes):
            raise ValueError(f"rectification_neighbors ({rectification_neighbors}) exceeds the {len(seen_classes)} seen classes; lower it.")
        self.visual_size = visual_size
        self.semantic_size = semantic_size
        self.hidden_size = hidden_size
        self.classifier_hidden_size = classifier_hidden_size or hidden_size
        self.num_clusters = num_clusters
        self.clustering = clustering
        self.use_semantic_embeddings = use_semantic_embeddings
        self.rectification_neighbors = rectification_neighbors
        self.l2_regularization = l2_regularization
        self.semantic_regression_weight = semantic_regression_weight
        self.class_names = class_names
        self.seen_classes = seen_classes
        self.feature_normalization = feature_normalization
        self.seen_detection_threshold = seen_detection_threshold
        super().__init__(**kwargs)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def unseen_classes(self) -> list[int]:
        seen = set(self.seen_classes)
        return [c for c in range(self.num_classes) if c not in seen]

    @property
    def representation_size(self) -> int:
        """Size of psi, the centroids and omega: [x, phi(x)], or x alone without semantic embeddings."""
        return self.visual_size * (2 if self.use_semantic_embeddings else 1)

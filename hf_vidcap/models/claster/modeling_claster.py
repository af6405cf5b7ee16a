"""CLASTER: zero-shot action recognition with a cluster-based video representation whose centroids are optimised by
REINFORCE (Gowda et al., ECCV 2022; ``../shared/papers/claster.md``).

The pieces, each a function so that its arithmetic is testable on its own:

- `claster_representation` (eq. 1): omega = psi + sum_j eta_ij c_j, eta = min-max normalised inverse distances.
- the semantic softmax (eq. 2) and the regularised cross-entropy (eq. 3): in the model's ``forward``.
- `reinforce_centroid_update` (eqs. 4-5): the closest centroid moves by alpha r (z - p) (psi - c).
- `rectify_class_embeddings` (eq. 6) and `kmeans` / `random_clustering` (the centroids' initialisation).

The model classifies pre-computed video features (see `hf_vidcap.encoders.VideoFeatureExtractor`); training is
`hf_vidcap.trainer.ClasterTrainer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_claster import ClasterConfig

TASKS = ("zsl", "gzsl", "seen")


# --------------------------------------------------------------------------------------------------- the equations


def claster_representation(psi: torch.Tensor, centroids: torch.Tensor, eps: float = 1e-8):
    """Eq. 1: the CLASTER representation of visual-semantic points ``psi`` (N, P) given ``centroids`` (K, P).

    eta_ij = (1/d_ij - min_j 1/d_ij) / (max_j 1/d_ij - min_j 1/d_ij) with d_ij the Euclidean distance (so the closest
    centroid weighs 1 and the farthest 0; with one centroid, or all at the same distance, every weight is 1), and
    omega_i = psi_i + sum_j eta_ij c_j.

    Returns:
        `(omega, eta, distances)` of shapes (N, P), (N, K), (N, K).
    """
    distances = torch.cdist(psi, centroids)
    inverse = 1.0 / distances.clamp_min(eps)
    low, high = inverse.min(dim=1, keepdim=True).values, inverse.max(dim=1, keepdim=True).values
    span = high - low
    eta = torch.where(span > eps, (inverse - low) / span.clamp_min(eps), torch.ones_like(inverse))
    return psi + eta @ centroids, eta, distances


def firing_probability(distances: torch.Tensor) -> torch.Tensor:
    """p_ij of eq. 5, from Likas (1999), the REINFORCE clustering CLASTER builds on: p = 2 (1 - sigmoid(d)), which is
    1 at distance 0 and falls to 0 far from the centroid."""
    return 2.0 * (1.0 - torch.sigmoid(distances))


def reinforce_centroid_update(
    centroids: torch.Tensor, psi: torch.Tensor, true_probability: torch.Tensor, correct: torch.Tensor, alpha: float
):
    """Eqs. 4-5: one REINFORCE update of the centroids from a batch.

    For each point psi_i only its closest centroid j moves: delta_i = alpha r_i (z_i - p_ij) (psi_i - c_j), with
    r_i = +1 when the classifier's argmax is the true class and -1 otherwise (eq. 4), z_i the true class's
    probability (the classification score) and p_ij = `firing_probability` of their distance. A centroid moves by
    the mean of its points' deltas (so a batch step is the size of one point's step; centroids with no point stay).

    Args:
        centroids (`torch.Tensor` of shape (K, P)), psi (`torch.Tensor` of shape (N, P)).
        true_probability (`torch.Tensor` of shape (N,)): z_i.
        correct (`torch.Tensor` of shape (N,), bool): argmax y_hat_i == y_i.
        alpha (`float`): the learning rate (0.1 / 0.01 / 0.001 over the paper's schedule).

    Returns:
        `(new_centroids, closest, rewards)`: the (K, P) centroids after the update, each point's closest centroid
        (N,) and its reward (N,).
    """
    distances = torch.cdist(psi, centroids)
    closest = distances.argmin(dim=1)
    rewards = correct.to(psi.dtype) * 2 - 1
    p = firing_probability(distances.gather(1, closest[:, None]).squeeze(1))
    deltas = alpha * (rewards * (true_probability - p))[:, None] * (psi - centroids[closest])
    total = torch.zeros_like(centroids).index_add_(0, closest, deltas)
    counts = torch.zeros(len(centroids), dtype=psi.dtype, device=psi.device).index_add_(0, closest, torch.ones_like(rewards))
    return centroids + total / counts.clamp_min(1)[:, None], closest, rewards


def rectify_class_embeddings(targets: torch.Tensor, neighbours: torch.Tensor, k: int) -> torch.Tensor:
    """Eq. 6 (semantic rectification against hubness): a_hat(u) = a(u) + (1/k) sum_{n in N_k(u)} cos(a(u), n) n,
    where N_k(u) are the k ``neighbours`` most cosine-similar to the target ``a(u)``.

    Args:
        targets (`torch.Tensor` of shape (U, D)): the embeddings to rectify (the unseen classes').
        neighbours (`torch.Tensor` of shape (S, D)): the embeddings they borrow from (the seen classes').
        k (`int`): how many neighbours (at most S); 0 returns ``targets`` unchanged.
    """
    if k == 0 or len(targets) == 0:
        return targets
    if k > len(neighbours):
        raise ValueError(f"rectification_neighbors ({k}) exceeds the {len(neighbours)} seen classes; lower it.")
    cosine = nn.functional.normalize(targets, dim=-1) @ nn.functional.normalize(neighbours, dim=-1).T
    top, index = cosine.topk(k, dim=1)
    return targets + (top[..., None] * neighbours[index]).sum(dim=1) / k


def _check_k(points: torch.Tensor, k: int) -> None:
    if k > len(points):
        raise ValueError(f"num_clusters ({k}) is larger than the number of training samples ({len(points)}); lower num_clusters or add data.")


def kmeans(points: torch.Tensor, k: int, iterations: int = 100, seed: int = 0) -> torch.Tensor:
    """K-means (Lloyd's iterations from a k-means++ start, seeded); an emptied cluster restarts at the point farthest
    from its centroid. Returns the (k, P) centroids."""
    _check_k(points, k)
    generator = torch.Generator().manual_seed(seed)
    points = points.detach().float().cpu()
    centroids = points[torch.randint(len(points), (1,), generator=generator)]
    while len(centroids) < k:  # k-means++: the next centroid with probability proportional to squared distance
        weights = torch.cdist(points, centroids).min(dim=1).values.pow(2)
        pick = torch.multinomial(weights, 1, generator=generator) if weights.sum() > 0 else torch.randint(len(points), (1,), generator=generator)
        centroids = torch.cat([centroids, points[pick]])
    for _ in range(iterations):
        distances = torch.cdist(points, centroids)
        assignment = distances.argmin(dim=1)
        updated = centroids.clone()
        for j in range(k):
            members = points[assignment == j]
            if len(members):
                updated[j] = members.mean(dim=0)
            else:
                updated[j] = points[distances.min(dim=1).values.argmax()]
        if torch.allclose(updated, centroids):
            break
        centroids = updated
    return centroids


def random_clustering(points: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """Table 1's "random clustering": every point joins a random cluster (each cluster gets at least one); the
    centroids are the clusters' means."""
    _check_k(points, k)
    generator = torch.Generator().manual_seed(seed)
    points = points.detach().float().cpu()
    assignment = torch.randint(k, (len(points),), generator=generator)
    assignment[torch.randperm(len(points), generator=generator)[:k]] = torch.arange(k)
    return torch.stack([points[assignment == j].mean(dim=0) for j in range(k)])


# ---------------------------------------------------------------------------------------------------------- model


@dataclass
class ClasterOutput(ModelOutput):
    """Output of [`ClasterForZeroShotVideoClassification`].

    Args:
        loss (`torch.FloatTensor`, *optional*): with ``labels``: eq. 3's cross-entropy over the seen classes plus the
            L2 regulariser and the semantic regression term.
        logits (`torch.FloatTensor` of shape (batch, num_classes)): a_hat(y)^T V(omega) for every class (eq. 2's
            scores; unseen classes use their rectified embeddings). The semantic softmax of eq. 2 is the softmax
            over the seen columns.
        representation (`torch.FloatTensor` of shape (batch, P)): omega (eq. 1).
        visual_semantic (`torch.FloatTensor` of shape (batch, P)): psi = [x, phi(x)].
        cluster_weights (`torch.FloatTensor` of shape (batch, K), *optional*): eta (None without clustering).
        cluster_distances (`torch.FloatTensor` of shape (batch, K), *optional*): d_ij.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): with ``output_hidden_states``: psi, omega and the
            classifier's hidden layers.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    representation: torch.FloatTensor | None = None
    visual_semantic: torch.FloatTensor | None = None
    cluster_weights: torch.FloatTensor | None = None
    cluster_distances: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ClasterPreTrainedModel(PreTrainedModel):
    config_class = ClasterConfig
    base_model_prefix = "claster"
    main_input_name = "video_features"

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=5**0.5)  # torch's own default
            bound = 1 / module.in_features**0.5
            nn.init.uniform_(module.bias, -bound, bound)


class ClasterForZeroShotVideoClassification(ClasterPreTrainedModel):
    """CLASTER on pre-computed video features.

    Modules (Sec. 3-4): ``semantic_to_visual`` a'(y) (two FC layers and a ReLU, fitted by least squares to the
    videos' features, Sec. 3.2), ``visual_to_semantic`` phi(x) (two FC layers, Sec. 3.3), the ``centroids`` (K, P)
    and the classifier V (an MLP to the semantic space, whose output is compared with the class embeddings: eq. 2).
    The class embeddings (``class_embeddings``, a buffer saved with the weights) and which classes are seen come
    with the checkpoint, so a loaded model predicts exactly as the trained one.

    Example:
        >>> import torch
        >>> from hf_vidcap.models import ClasterConfig, ClasterForZeroShotVideoClassification
        >>> config = ClasterConfig(visual_size=8, semantic_size=4, hidden_size=16, num_clusters=2,
        ...                        class_names=["a", "b", "c", "d"], seen_classes=[0, 1, 2])
        >>> model = ClasterForZeroShotVideoClassification(config)
        >>> model.set_class_embeddings(torch.eye(4))
        >>> model.initialize_centroids(torch.randn(10, 8), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]))
        >>> model.predict(torch.randn(3, 8), task="zsl").tolist()  # the one unseen class
        [3, 3, 3]
    """

    def __init__(self, config: ClasterConfig):
        super().__init__(config)
        if not config.class_names:
            raise ValueError("ClasterConfig needs class_names (every seen and unseen class, in label order).")
        self.semantic_to_visual = _mlp([config.semantic_size, config.hidden_size, config.visual_size])
        self.visual_to_semantic = _mlp([config.visual_size, config.hidden_size, config.visual_size]) if config.use_semantic_embeddings else None
        self.classifier = _mlp([config.representation_size, config.classifier_hidden_size, config.classifier_hidden_size, config.semantic_size])
        clusters = 0 if config.clustering == "none" else config.num_clusters
        self.centroids = nn.Parameter(torch.zeros(clusters, config.representation_size), requires_grad=False)
        self.register_buffer("class_embeddings", torch.zeros(config.num_classes, config.semantic_size))
        self.register_buffer("seen_mask", torch.zeros(config.num_classes, dtype=torch.bool))
        self.register_buffer("feature_mean", torch.zeros(config.visual_size))
        self.register_buffer("feature_std", torch.ones(config.visual_size))
        self.post_init()
        self.seen_mask[config.seen_classes] = True

    # -- set-up ---------------------------------------------------------------------------------------------------

    def set_class_embeddings(self, embeddings: torch.Tensor) -> None:
        """The (num_classes, semantic_size) embeddings a(y) of the class names, in label order."""
        embeddings = torch.as_tensor(embeddings, dtype=self.class_embeddings.dtype)
        expected = (self.config.num_classes, self.config.semantic_size)
        if tuple(embeddings.shape) != expected:
            raise ValueError(f"class embeddings have shape {tuple(embeddings.shape)}; expected {expected} (one row of semantic_size per class name).")
        if not torch.isfinite(embeddings).all():
            bad = [self.config.class_names[i] for i in (~torch.isfinite(embeddings).all(dim=1)).nonzero().flatten().tolist()]
            raise ValueError(f"the class embeddings of {bad[:5]} are not finite; embed those class names again.")
        with torch.no_grad():
            self.class_embeddings.copy_(embeddings.to(self.class_embeddings.device))

    @torch.no_grad()
    def set_feature_statistics(self, video_features: torch.Tensor) -> None:
        """With ``feature_normalization="standardize"``, record the training videos' per-dimension mean and standard
        deviation (raw features); every forward then standardises its input with them."""
        x = self._check_features(video_features, normalize=False)
        if len(x) < 2:
            raise ValueError("feature statistics need at least two videos.")
        self.feature_mean.copy_(x.mean(dim=0))
        self.feature_std.copy_(x.std(dim=0).clamp_min(1e-6))

    @property
    def seen_classes(self) -> torch.Tensor:
        return self.seen_mask.nonzero().flatten()

    @property
    def unseen_classes(self) -> torch.Tensor:
        return (~self.seen_mask).nonzero().flatten()

    def clustering_points(self, video_features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The points K-means clusters (Sec. 3.2): [x_i, a'(y_i)], or x_i alone without semantic embeddings."""
        x = self._check_features(video_features)
        if not self.config.use_semantic_embeddings:
            return x
        return torch.cat([x, self.semantic_to_visual(self.class_embeddings[labels])], dim=-1)

    @torch.no_grad()
    def initialize_centroids(self, video_features: torch.Tensor, labels: torch.Tensor, iterations: int = 100, seed: int = 0) -> None:
        """Set the centroids from the training videos per ``config.clustering`` (K-means or a random clustering of
        `clustering_points`; nothing without clustering)."""
        if self.config.clustering == "none":
            return
        points = self.clustering_points(video_features, self._check_labels(labels, len(video_features)))
        if self.config.clustering == "kmeans":
            centroids = kmeans(points, self.config.num_clusters, iterations=iterations, seed=seed)
        else:
            centroids = random_clustering(points, self.config.num_clusters, seed=seed)
        self.centroids.copy_(centroids.to(self.centroids.device, self.centroids.dtype))

    def projection_loss(self, video_features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Sec. 3.2's least-squares loss of a'(y): the mean squared error between x_i and a'(y_i)."""
        x = self._check_features(video_features)
        projected = self.semantic_to_visual(self.class_embeddings[self._check_labels(labels, len(x))])
        return (x - projected).pow(2).mean()

    # -- checks ---------------------------------------------------------------------------------------------------

    def _check_features(self, video_features, normalize: bool = True) -> torch.Tensor:
        if video_features is None:
            raise ValueError("video_features is required: (batch, visual_size) features of a frozen video encoder.")
        x = torch.as_tensor(video_features)
        if x.ndim != 2 or x.shape[-1] != self.config.visual_size:
            raise ValueError(
                f"video_features have shape {tuple(x.shape)}; expected (batch, {self.config.visual_size}): the model was "
                "built for features of visual_size from one video encoder (extract them with the same encoder)."
            )
        if not torch.isfinite(x).all():
            raise ValueError(f"video_features hold NaN or infinite values (rows {(~torch.isfinite(x).all(dim=1)).nonzero().flatten().tolist()[:5]}).")
        x = x.to(self.class_embeddings.device, self.class_embeddings.dtype)
        if normalize and self.config.feature_normalization == "standardize":
            x = (x - self.feature_mean) / self.feature_std
        return x

    def _check_labels(self, labels, batch: int) -> torch.Tensor:
        labels = torch.as_tensor(labels, dtype=torch.long, device=self.class_embeddings.device)
        if labels.shape != (batch,):
            raise ValueError(f"got {labels.numel()} labels for {batch} videos; pass one class index per video.")
        if len(labels) and (labels.min() < 0 or labels.max() >= self.config.num_classes):
            raise ValueError(f"labels must be class indices in [0, {self.config.num_classes}) (config.class_names).")
        return labels

    # -- forward --------------------------------------------------------------------------------------------------

    def scoring_embeddings(self) -> torch.Tensor:
        """The class embeddings the scores use: seen classes as they are, unseen ones rectified against the seen
        (eq. 6). The paper rectifies after projecting with its classifier's penultimate layer; our classifier maps
        into the semantic space where eq. 2 compares, so rectification acts there."""
        embeddings = self.class_embeddings.clone()
        unseen, seen = ~self.seen_mask, self.seen_mask
        if unseen.any() and self.config.rectification_neighbors:
            embeddings[unseen] = rectify_class_embeddings(self.class_embeddings[unseen], self.class_embeddings[seen], self.config.rectification_neighbors)
        return embeddings

    def forward(
        self,
        video_features: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> ClasterOutput | tuple:
        output_hidden_states = output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        x = self._check_features(video_features)
        phi = self.visual_to_semantic(x) if self.visual_to_semantic is not None else None
        psi = torch.cat([x, phi], dim=-1) if phi is not None else x
        if len(self.centroids):
            omega, eta, distances = claster_representation(psi, self.centroids)
        else:
            omega, eta, distances = psi, None, None
        hidden = [psi, omega]
        h = omega
        for layer in self.classifier:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                hidden.append(h)
        logits = h @ self.scoring_embeddings().T
        loss = None
        if labels is not None:
            loss = self.loss(logits, self._check_labels(labels, len(x)), x, phi)
        if not return_dict:
            out = (logits, omega, psi, eta, distances) + ((tuple(hidden),) if output_hidden_states else ())
            return ((loss,) + out) if loss is not None else out
        return ClasterOutput(
            loss=loss, logits=logits, representation=omega, visual_semantic=psi, cluster_weights=eta,
            cluster_distances=distances, hidden_states=tuple(hidden) if output_hidden_states else None,
        )

    def seen_positions(self, labels: torch.Tensor) -> torch.Tensor:
        """Positions of (seen) class indices among the seen classes; an unseen label is an error."""
        position = torch.full((self.config.num_classes,), -1, dtype=torch.long, device=labels.device)
        position[self.seen_classes.to(labels.device)] = torch.arange(int(self.seen_mask.sum()), device=labels.device)
        targets = position[labels]
        if (targets < 0).any():
            bad = sorted({self.config.class_names[i] for i in labels[targets < 0].tolist()})
            raise ValueError(f"training labels include unseen classes {bad[:5]}; train on the seen classes' videos only (config.seen_classes).")
        return targets

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, x: torch.Tensor, phi: torch.Tensor | None) -> torch.Tensor:
        """Eq. 3: cross-entropy of the semantic softmax over the seen classes + (lambda / 2) sum ||W||^2 over the
        trained weights (centroids excluded) + the semantic regression, the mean squared error between phi(x) and a'(y)
        (a' frozen here)."""
        loss = nn.functional.cross_entropy(logits[:, self.seen_mask], self.seen_positions(labels))
        if self.config.l2_regularization:
            weights = [p for name, p in self.named_parameters() if p.requires_grad and name != "centroids"]
            if weights:
                loss = loss + self.config.l2_regularization / 2 * sum(p.pow(2).sum() for p in weights)
        if phi is not None and self.config.semantic_regression_weight:
            with torch.no_grad():
                target = self.semantic_to_visual(self.class_embeddings[labels])
            loss = loss + self.config.semantic_regression_weight * (phi - target).pow(2).mean()
        return loss

    # -- inference ------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def assign_clusters(self, video_features: torch.Tensor) -> torch.Tensor:
        """Each video's closest centroid (of psi), for cluster purity (eq. 7)."""
        if not len(self.centroids):
            raise ValueError("this model has no centroids (clustering='none').")
        return self(video_features, return_dict=True).cluster_distances.argmin(dim=1)

    @torch.no_grad()
    def predict(self, video_features: torch.Tensor, task: str = "zsl") -> torch.Tensor:
        """Class indices (into ``config.class_names``) of videos.

        Args:
            task (`str`, *optional*, defaults to `"zsl"`): ``"zsl"``: among the unseen classes (nearest rectified
                unseen class embedding, Sec. 4); ``"seen"``: among the seen classes; ``"gzsl"``: the bias detector
                (``config.seen_detection_threshold`` on the highest seen-class probability) sends a video to the seen
                classes or to the unseen ones.
        """
        if task not in TASKS:
            raise ValueError(f"task {task!r} is unknown; use one of {TASKS}.")
        logits = self(video_features, return_dict=True).logits
        seen, unseen = self.seen_classes, self.unseen_classes
        if task == "seen" or (task == "gzsl" and not len(unseen)):
            return seen[logits[:, seen].argmax(dim=1)]
        if not len(unseen):
            raise ValueError("the model has no unseen classes: every class in config.class_names is seen.")
        zsl = unseen[logits[:, unseen].argmax(dim=1)]
        if task == "zsl":
            return zsl
        threshold = self.config.seen_detection_threshold
        if threshold is None:
            raise ValueError("config.seen_detection_threshold is not set: calibrate it with ClasterTrainer.calibrate_seen_detector (held-out seen videos) before task='gzsl'.")
        confidence = logits[:, seen].softmax(dim=1).max(dim=1).values
        return torch.where(confidence >= threshold, seen[logits[:, seen].argmax(dim=1)], zsl)

    def seen_confidence(self, video_features: torch.Tensor) -> torch.Tensor:
        """The bias detector's score: the highest semantic-softmax probability over the seen classes."""
        with torch.no_grad():
            logits = self(video_features, return_dict=True).logits
        return logits[:, self.seen_mask].softmax(dim=1).max(dim=1).values

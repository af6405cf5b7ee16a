"""ClasterTrainer: CLASTER's training (Gowda et al., ECCV 2022) as a `transformers.Trainer`.

Before the main loop (``train``): the semantic-to-visual MLP a'(y) is fitted to the training videos by least squares
and frozen (Sec. 3.2), then the centroids are initialised (K-means, a random clustering, or none: the model's
``clustering``). Each step then does the classification update (eq. 3, Adam) and, with ``centroid_update=
"reinforce"``, the REINFORCE update of the centroids from the same forward pass (eqs. 4-5); with ``"sgd"`` the
centroids are ordinary trained parameters (Table 1's "w/o RL"). After training, the generalised zero-shot bias
detector is calibrated on held-out seen videos.

    >>> from hf_vidcap.trainer import ClasterTrainer, ClasterTrainingConfig  # doctest: +SKIP
    >>> trainer = ClasterTrainer(model, ClasterTrainingConfig("out"), train_dataset=train, eval_dataset=held_out)  # doctest: +SKIP
    >>> trainer.train(); trainer.evaluate_zero_shot(test_unseen, test_seen)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections import defaultdict

import torch
from transformers import Trainer

from ..metrics.clustering import cluster_purity
from ..metrics.zero_shot import generalized_zero_shot_accuracy, top_k_accuracy
from ..models.claster import ClasterForZeroShotVideoClassification, reinforce_centroid_update
from .claster_config import ClasterTrainingConfig


class ClasterCollator:
    """Stacks a batch of dataset rows into ``{"video_features": (B, D), "labels": (B,)}``, naming the row that is
    wrong (missing feature, wrong length, missing label)."""

    def __init__(self, features_column: str = "video_features", label_column: str = "label", visual_size: int | None = None):
        self.features_column, self.label_column, self.visual_size = features_column, label_column, visual_size

    def __call__(self, rows: list[dict]) -> dict:
        features, labels = [], []
        for i, row in enumerate(rows):
            where = f"sample {row.get('video_id', i)!r}"
            if row.get(self.features_column) is None:
                raise ValueError(f"{where} has no {self.features_column!r}; compute the video features first (VideoFeatureExtractor.add_to_dataset).")
            vector = torch.as_tensor(row[self.features_column], dtype=torch.float32).flatten()
            if self.visual_size is not None and vector.numel() != self.visual_size:
                raise ValueError(f"{where}: its {self.features_column!r} has {vector.numel()} values; the model expects visual_size={self.visual_size}.")
            if row.get(self.label_column) is None:
                raise ValueError(f"{where} has no {self.label_column!r} (a class index).")
            features.append(vector)
            labels.append(int(row[self.label_column]))
        lengths = {len(v) for v in features}
        if len(lengths) > 1:
            raise ValueError(f"the batch mixes feature lengths {sorted(lengths)}; every video's features must come from one encoder.")
        return {"video_features": torch.stack(features), "labels": torch.tensor(labels)}


def dataset_tensors(dataset, features_column: str = "video_features", label_column: str = "label"):
    """All of a dataset's features (N, D) and labels (N,)."""
    for column in (features_column, label_column):
        if column not in dataset.column_names:
            raise ValueError(f"the dataset has no {column!r} column (columns: {dataset.column_names}).")
    if len(dataset) == 0:
        raise ValueError("the dataset is empty.")
    batch = ClasterCollator(features_column, label_column)([dataset[i] for i in range(len(dataset))])
    return batch["video_features"], batch["labels"]


@torch.no_grad()
def evaluate_zero_shot(
    model: ClasterForZeroShotVideoClassification, unseen_dataset, seen_dataset=None, features_column: str = "video_features",
    label_column: str = "label",
) -> dict:
    """CLASTER's protocol on held-out videos: ZSL mean class accuracy over the unseen classes (percent), and with
    ``seen_dataset`` (held-out videos of the seen classes) the GZSL seen / unseen mean class accuracies and their
    harmonic mean; the cluster purity (eq. 7) of the unseen videos when the model has centroids."""
    model.eval()
    features, labels = dataset_tensors(unseen_dataset, features_column, label_column)
    unseen = model.unseen_classes.tolist()
    if not set(labels.tolist()) <= set(unseen):
        raise ValueError("unseen_dataset holds videos of seen classes; pass the test_unseen split.")
    logits = model(features, return_dict=True).logits
    position = {c: i for i, c in enumerate(unseen)}
    result = {"zsl_accuracy": top_k_accuracy(logits[:, unseen], [position[c] for c in labels.tolist()], ks=(1,), per_class_mean=True)["top1_accuracy"]}
    if len(model.centroids):
        result["unseen_purity"] = cluster_purity(model.assign_clusters(features).tolist(), labels.tolist())
    if seen_dataset is not None:
        seen_features, seen_labels = dataset_tensors(seen_dataset, features_column, label_column)
        all_features, all_labels = torch.cat([seen_features, features]), torch.cat([seen_labels, labels])
        predicted = model.predict(all_features, task="gzsl")
        one_hot = torch.nn.functional.one_hot(predicted, model.config.num_classes).double()
        gzsl = generalized_zero_shot_accuracy(one_hot, all_labels.tolist(), unseen, per_class_mean=True)
        result.update({f"gzsl_{key}": value for key, value in gzsl.items()})
    return result


class ClasterTrainer(Trainer):
    """Trains a [`ClasterForZeroShotVideoClassification`] on a dataset of video features of the seen classes
    (columns ``video_features`` and ``label``, an index into ``model.config.class_names``).

    Args:
        model ([`ClasterForZeroShotVideoClassification`]): with its class embeddings set.
        args ([`ClasterTrainingConfig`], *optional*).
        train_dataset (`datasets.Dataset`): the seen classes' training videos.
        eval_dataset (`datasets.Dataset`, *optional*): held-out videos of the seen classes (evaluation loss and the
            bias detector's calibration).
    """

    _tag_names = ["hf_vidcap", "claster"]

    def __init__(self, model, args: ClasterTrainingConfig | None = None, train_dataset=None, eval_dataset=None, data_collator=None, **kwargs):
        if not isinstance(model, ClasterForZeroShotVideoClassification):
            raise TypeError(f"ClasterTrainer trains a ClasterForZeroShotVideoClassification, got {type(model).__name__}.")
        args = args if args is not None else ClasterTrainingConfig(output_dir="claster-output")
        if not isinstance(args, ClasterTrainingConfig):
            raise TypeError(f"args must be a ClasterTrainingConfig, got {type(args).__name__}.")
        if train_dataset is None:
            raise ValueError("ClasterTrainer needs a train_dataset of video features of the seen classes.")
        clustered = len(model.centroids) > 0
        if not clustered and args.centroid_update != "frozen":
            raise ValueError(
                f"centroid_update={args.centroid_update!r} has nothing to update: the model has no centroids "
                "(clustering='none'). Use centroid_update='frozen' for the no-clustering ablation."
            )
        if not model.class_embeddings.abs().sum(dim=1).gt(0).all():
            missing = [model.config.class_names[i] for i in (model.class_embeddings.abs().sum(dim=1) == 0).nonzero().flatten().tolist()]
            raise ValueError(f"classes {missing[:5]} have no embedding; call model.set_class_embeddings (e.g. with a SentenceEmbedder) first.")
        self._train_features, self._train_labels = dataset_tensors(train_dataset, args.features_column, args.label_column)
        if self._train_features.shape[1] != model.config.visual_size:
            raise ValueError(f"the training features have {self._train_features.shape[1]} values; the model expects visual_size={model.config.visual_size}.")
        model.seen_positions(self._train_labels)  # an unseen class in the training set is an error here
        model.centroids.requires_grad_(clustered and args.centroid_update == "sgd")
        data_collator = data_collator or ClasterCollator(args.features_column, args.label_column, model.config.visual_size)
        super().__init__(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset, data_collator=data_collator, **kwargs)
        self._prepared = False
        self._step_metrics: defaultdict[str, list[float]] = defaultdict(list)
        self._rl_inputs = None
        self.preparation: dict = {}

    # -- before the loop ------------------------------------------------------------------------------------------

    def prepare_representation(self) -> dict:
        """Fit a'(y) by least squares (then freeze it) and initialise the centroids; returns what it measured."""
        model, args = self.model, self.args
        device = next(model.parameters()).device
        features, labels = self._train_features.to(device), self._train_labels.to(device)
        if model.config.feature_normalization == "standardize":
            model.set_feature_statistics(features)
        projection = model.semantic_to_visual
        projection.requires_grad_(True)
        report = {}
        with torch.no_grad():
            report["projection_loss_before"] = model.projection_loss(features, labels).item()
        if args.projection_steps:
            optimizer = torch.optim.Adam(projection.parameters(), lr=args.projection_learning_rate)
            for _ in range(args.projection_steps):
                optimizer.zero_grad()
                loss = model.projection_loss(features, labels)
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            report["projection_loss_after"] = model.projection_loss(features, labels).item()
        projection.requires_grad_(False)
        model.initialize_centroids(features, labels, iterations=args.kmeans_iterations, seed=args.seed)
        if len(model.centroids):
            report["purity_before"] = cluster_purity(model.assign_clusters(features).tolist(), labels.tolist())
        self._prepared = True
        self.preparation = report
        return report

    def train(self, *args, **kwargs):
        if not self._prepared:
            self.prepare_representation()
        output = super().train(*args, **kwargs)
        if len(self.model.unseen_classes):
            self.calibrate_seen_detector()
        if len(self.model.centroids):
            features = self._train_features.to(next(self.model.parameters()).device)
            self.preparation["purity_after"] = cluster_purity(self.model.assign_clusters(features).tolist(), self._train_labels.tolist())
        return output

    def create_optimizer(self, model=None):
        """Trainer's optimizer; with ``centroid_update="sgd"`` and ``centroid_sgd_learning_rate`` the centroids get
        their own parameter group (no weight decay)."""
        model_ = self.accelerator.unwrap_model(self.model)
        separate = self.args.centroid_update == "sgd" and self.args.centroid_sgd_learning_rate is not None
        if separate:
            model_.centroids.requires_grad_(False)
        optimizer = super().create_optimizer(model) if model is not None else super().create_optimizer()
        if separate:
            model_.centroids.requires_grad_(True)
            optimizer.add_param_group({"params": [model_.centroids], "lr": self.args.centroid_sgd_learning_rate, "weight_decay": 0.0})
        return optimizer

    # -- the step -------------------------------------------------------------------------------------------------

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        outputs = model(**inputs, return_dict=True)
        if self.args.centroid_update == "reinforce" and model.training:
            self._rl_inputs = (outputs.visual_semantic.detach(), outputs.logits.detach(), inputs["labels"])
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self._rl_inputs is not None:
            self._reinforce(*self._rl_inputs)
            self._rl_inputs = None
        return loss

    @torch.no_grad()
    def _reinforce(self, psi: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        model = self.accelerator.unwrap_model(self.model)
        seen = model.seen_mask
        probabilities = logits[:, seen].softmax(dim=1)
        targets = model.seen_positions(labels)
        true_probability = probabilities.gather(1, targets[:, None]).squeeze(1)
        correct = probabilities.argmax(dim=1) == targets
        alpha = self.args.centroid_learning_rate(self.state.global_step)
        new, _, rewards = reinforce_centroid_update(model.centroids.data, psi, true_probability, correct, alpha)
        if self.accelerator.num_processes > 1:  # every process applies the mean of their updates
            new = self.accelerator.reduce(new, reduction="mean")
        shift = (new - model.centroids.data).norm(dim=1).mean().item()
        model.centroids.data.copy_(new)
        self._step_metrics["centroids/reward"].append(rewards.mean().item())
        self._step_metrics["centroids/alpha"].append(alpha)
        self._step_metrics["centroids/shift"].append(shift)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._step_metrics:
            logs = {**logs, **{key: sum(v) / len(v) for key, v in self._step_metrics.items()}}
            self._step_metrics.clear()
        super().log(logs, start_time)

    # -- after the loop -------------------------------------------------------------------------------------------

    @torch.no_grad()
    def calibrate_seen_detector(self, dataset=None) -> float:
        """Set ``model.config.seen_detection_threshold`` to the ``seen_detection_quantile`` of the highest
        seen-class probability on ``dataset`` (default: the eval dataset, else the training set)."""
        dataset = dataset if dataset is not None else (self.eval_dataset if self.eval_dataset is not None else self.train_dataset)
        features, _ = dataset_tensors(dataset, self.args.features_column, self.args.label_column)
        model = self.accelerator.unwrap_model(self.model)
        was_training = model.training
        model.eval()
        confidence = model.seen_confidence(features.to(next(model.parameters()).device))
        model.train(was_training)
        threshold = float(torch.quantile(confidence.double(), self.args.seen_detection_quantile))
        if not math.isfinite(threshold):
            raise ValueError("the seen-class confidences are not finite; the model diverged (lower learning_rate).")
        model.config.seen_detection_threshold = threshold
        return threshold

    def evaluate_zero_shot(self, unseen_dataset, seen_dataset=None) -> dict:
        """`evaluate_zero_shot` with this trainer's model and columns."""
        model = self.accelerator.unwrap_model(self.model)
        result = evaluate_zero_shot(model, unseen_dataset, seen_dataset, self.args.features_column, self.args.label_column)
        model.train()
        return result

"""ClasterTrainer: the REINFORCE step matches eq. 5 on the batch it saw, the ablation switches do what they say, the
bias detector is calibrated, and bad configurations fail with a clear message."""

import copy

import datasets
import pytest
import torch

from hf_vidcap.models import ClasterConfig, ClasterForZeroShotVideoClassification
from hf_vidcap.models.claster import reinforce_centroid_update
from hf_vidcap.trainer import ClasterCollator, ClasterTrainer, ClasterTrainingConfig, evaluate_zero_shot

NUM_CLASSES, SEEN, VISUAL, SEMANTIC = 8, [0, 1, 2, 3, 4], 12, 6
EMBEDDINGS = torch.nn.functional.normalize(torch.randn(NUM_CLASSES, SEMANTIC, generator=torch.Generator().manual_seed(0)), dim=-1)
MIXING = torch.randn(SEMANTIC, VISUAL, generator=torch.Generator().manual_seed(1)) * 2


def features_of(classes, per_class: int, seed: int) -> datasets.Dataset:
    """Videos whose features are a linear image of their class embedding plus noise: unseen classes are reachable
    through the embeddings."""
    labels = torch.tensor(classes).repeat_interleave(per_class)
    x = EMBEDDINGS[labels] @ MIXING + 0.3 * torch.randn(len(labels), VISUAL, generator=torch.Generator().manual_seed(seed))
    return datasets.Dataset.from_dict({"video_features": x.tolist(), "label": labels.tolist(), "video_id": [f"v{seed}_{i}" for i in range(len(labels))]})


@pytest.fixture(scope="module")
def splits():
    return {"train": features_of(SEEN, 30, 0), "held_out": features_of(SEEN, 8, 1), "test_seen": features_of(SEEN, 8, 2), "test_unseen": features_of([5, 6, 7], 15, 3)}


def new_model(**overrides):
    torch.manual_seed(0)
    config = ClasterConfig(**{**dict(visual_size=VISUAL, semantic_size=SEMANTIC, hidden_size=32, num_clusters=3, class_names=[f"class {i}" for i in range(NUM_CLASSES)], seen_classes=SEEN, rectification_neighbors=2), **overrides})
    model = ClasterForZeroShotVideoClassification(config)
    model.set_class_embeddings(EMBEDDINGS)
    return model


def config(tmp_path, **overrides):
    settings = dict(max_steps=2, per_device_train_batch_size=16, use_cpu=True, disable_tqdm=True, projection_steps=20, logging_steps=1, seed=0)
    return ClasterTrainingConfig(str(tmp_path), **{**settings, **overrides})


def test_the_reinforce_step_is_eq5_on_the_batch_the_step_saw(tmp_path, splits):
    model = new_model()
    train = splits["train"]
    trainer = ClasterTrainer(model, config(tmp_path, max_steps=1, per_device_train_batch_size=len(train)), train_dataset=train)
    trainer.prepare_representation()
    # what eq. 5 gives on the whole training set (one batch) with the model as it is before the step, alpha 0.1
    features, labels = torch.tensor(train["video_features"]), torch.tensor(train["label"])
    reference = copy.deepcopy(model).train()
    out = reference(features, return_dict=True)
    probabilities = out.logits[:, SEEN].softmax(dim=1)
    z = probabilities[torch.arange(len(labels)), labels]  # seen classes 0-4 sit at positions 0-4
    expected, _, rewards = reinforce_centroid_update(reference.centroids.data, out.visual_semantic.detach(), z.detach(), probabilities.argmax(dim=1) == labels, 0.1)
    trainer.train()
    assert torch.allclose(model.centroids.data, expected, atol=1e-5)
    logged = [entry for entry in trainer.state.log_history if "centroids/reward" in entry]
    assert logged and logged[0]["centroids/reward"] == pytest.approx(rewards.mean().item(), abs=1e-6)
    assert logged[0]["centroids/alpha"] == 0.1


def test_ablation_switches(tmp_path, splits):
    # frozen: the K-means centroids stay; a' (fitted first) is frozen in every mode
    model = new_model()
    trainer = ClasterTrainer(model, config(tmp_path / "frozen", centroid_update="frozen"), train_dataset=splits["train"])
    trainer.prepare_representation()
    start, projection = model.centroids.data.clone(), copy.deepcopy(model.semantic_to_visual.state_dict())
    trainer.train()
    assert torch.equal(model.centroids.data, start)
    assert all(torch.equal(v, model.semantic_to_visual.state_dict()[k]) for k, v in projection.items())
    # sgd (w/o RL): the centroids are trained parameters, with their own learning rate when given
    model = new_model()
    trainer = ClasterTrainer(model, config(tmp_path / "sgd", centroid_update="sgd", centroid_sgd_learning_rate=0.05), train_dataset=splits["train"])
    trainer.prepare_representation()
    start = model.centroids.data.clone()
    trainer.train()
    assert not torch.equal(model.centroids.data, start)
    assert [g["lr"] for g in trainer.optimizer.param_groups if any(p is model.centroids for p in g["params"])] == [0.05]
    # random clustering and no clustering
    assert new_model(clustering="none").centroids.shape == (0, 2 * VISUAL)
    assert new_model(use_semantic_embeddings=False).centroids.shape == (3, VISUAL)
    model = new_model(clustering="random")
    ClasterTrainer(model, config(tmp_path / "random", centroid_update="frozen"), train_dataset=splits["train"]).prepare_representation()
    assert model.centroids.abs().sum() > 0


def test_alpha_follows_the_schedule(tmp_path):
    args = config(tmp_path, centroid_learning_rates=[0.1, 0.01, 0.001], centroid_milestones=[1000, 2000])
    assert [args.centroid_learning_rate(s) for s in (0, 999, 1000, 1999, 2000, 9999)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]


def test_training_recognises_unseen_classes_and_calibrates_the_bias_detector(tmp_path, splits):
    model = new_model()
    trainer = ClasterTrainer(model, config(tmp_path, max_steps=150, learning_rate=3e-3, logging_steps=50), train_dataset=splits["train"], eval_dataset=splits["held_out"])
    trainer.train()
    confidence = model.seen_confidence(torch.tensor(splits["held_out"]["video_features"]))
    assert model.config.seen_detection_threshold == pytest.approx(torch.quantile(confidence.double(), 0.05).item(), rel=1e-5)
    result = trainer.evaluate_zero_shot(splits["test_unseen"], splits["test_seen"])
    assert result["zsl_accuracy"] > 50  # chance: 33% (3 unseen classes)
    assert set(result) == {"zsl_accuracy", "unseen_purity", "gzsl_seen_accuracy", "gzsl_unseen_accuracy", "gzsl_harmonic_mean"}
    assert 0 < trainer.preparation["purity_before"] <= 1 and "purity_after" in trainer.preparation
    with pytest.raises(ValueError, match="holds videos of seen classes"):
        evaluate_zero_shot(model, splits["test_seen"])


def test_bad_configurations_and_inputs_fail_clearly(tmp_path, splits):
    train = splits["train"]
    with pytest.raises(ValueError, match="has nothing to update"):
        ClasterTrainer(new_model(clustering="none"), config(tmp_path), train_dataset=train)
    model = new_model()
    model.class_embeddings[6] = 0
    with pytest.raises(ValueError, match=r"classes \['class 6'\] have no embedding"):
        ClasterTrainer(model, config(tmp_path), train_dataset=train)
    with pytest.raises(ValueError, match="larger than the number of training samples"):
        ClasterTrainer(new_model(num_clusters=500), config(tmp_path), train_dataset=train).train()
    with pytest.raises(ValueError, match="unseen classes"):
        ClasterTrainer(new_model(), config(tmp_path), train_dataset=splits["test_unseen"])
    with pytest.raises(ValueError, match="have 12 values; the model expects visual_size=10"):
        ClasterTrainer(new_model(visual_size=10), config(tmp_path), train_dataset=train)
    with pytest.raises(ValueError, match="no 'video_features' column"):
        ClasterTrainer(new_model(), config(tmp_path), train_dataset=train.remove_columns("video_features"))
    with pytest.raises(ValueError, match="centroid_update 'genetic' is unknown"):
        config(tmp_path, centroid_update="genetic")
    with pytest.raises(ValueError, match="needs one more value"):
        config(tmp_path, centroid_learning_rates=[0.1, 0.01], centroid_milestones=[10, 20])
    collator = ClasterCollator(visual_size=3)
    with pytest.raises(ValueError, match="sample 'b': its 'video_features' has 2 values"):
        collator([{"video_features": [1, 2, 3], "label": 0, "video_id": "a"}, {"video_features": [1, 2], "label": 0, "video_id": "b"}])
    with pytest.raises(ValueError, match="sample 'a' has no 'label'"):
        collator([{"video_features": [1, 2, 3], "video_id": "a"}])

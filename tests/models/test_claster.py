"""CLASTER's equations on hand-computed tensors, the model's conventions and its bad-input errors."""

import math

import pytest
import torch
from transformers import AutoConfig, AutoModel

from hf_vidcap.metrics import cluster_purity
from hf_vidcap.models import ClasterConfig, ClasterForZeroShotVideoClassification
from hf_vidcap.models.claster import (
    claster_representation,
    firing_probability,
    kmeans,
    random_clustering,
    rectify_class_embeddings,
    reinforce_centroid_update,
)

NAMES = ["circle moving left", "circle moving right", "square moving left", "square moving right", "triangle growing"]


def tiny_model(**overrides) -> ClasterForZeroShotVideoClassification:
    torch.manual_seed(0)
    settings = dict(visual_size=6, semantic_size=4, hidden_size=8, num_clusters=2, class_names=NAMES, seen_classes=[0, 1, 2])
    model = ClasterForZeroShotVideoClassification(ClasterConfig(**{**settings, **overrides}))
    model.set_class_embeddings(torch.nn.functional.normalize(torch.randn(len(NAMES), 4, generator=torch.Generator().manual_seed(1)), dim=-1))
    return model


def test_eq1_representation_weights_centroids_by_min_max_normalised_inverse_distance():
    psi = torch.tensor([[0.0, 0.0]])
    centroids = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, -4.0]])
    omega, eta, distances = claster_representation(psi, centroids)
    # distances 1, 2, 4 -> inverses 1, 0.5, 0.25
    assert distances.tolist() == [[1.0, 2.0, 4.0]]
    # min-max over the inverses: (1 - 0.25) / 0.75 = 1, (0.5 - 0.25) / 0.75 = 1/3, (0.25 - 0.25) / 0.75 = 0
    assert torch.allclose(eta, torch.tensor([[1.0, 1 / 3, 0.0]]))
    # omega = psi + 1 * (1, 0) + 1/3 * (0, 2) + 0 * (0, -4) = (1, 2/3)
    assert torch.allclose(omega, torch.tensor([[1.0, 2 / 3]]))


def test_eq1_with_one_centroid_or_equal_distances_weighs_every_centroid_fully():
    omega, eta, _ = claster_representation(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    # both at distance 1: max == min, so every weight is 1 (not a division by zero)
    assert eta.tolist() == [[1.0, 1.0]] and omega.tolist() == [[0.0, 0.0]]


def test_eq5_reinforce_moves_only_the_closest_centroid_by_alpha_r_z_minus_p():
    centroids = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    psi = torch.tensor([[1.0, 0.0]])
    # closest centroid 0 at distance 1: p = 2 (1 - sigmoid(1)) = 2 (1 - 0.7310586) = 0.5378828
    p = 2 * (1 - 1 / (1 + math.exp(-1)))
    assert firing_probability(torch.tensor(1.0)).item() == pytest.approx(p)
    new, closest, rewards = reinforce_centroid_update(centroids, psi, torch.tensor([0.9]), torch.tensor([True]), alpha=0.1)
    # correct -> r = +1: delta = 0.1 * 1 * (0.9 - 0.5378828) * (psi - c0) = 0.0362117 * (1, 0): towards psi
    assert closest.tolist() == [0] and rewards.tolist() == [1.0]
    assert torch.allclose(new[0], torch.tensor([0.1 * (0.9 - p), 0.0]))
    assert new[1].tolist() == [10.0, 0.0]  # the far centroid stays
    # wrong -> r = -1: the same step away from psi
    new, _, rewards = reinforce_centroid_update(centroids, psi, torch.tensor([0.9]), torch.tensor([False]), alpha=0.1)
    assert rewards.tolist() == [-1.0] and torch.allclose(new[0], torch.tensor([-0.1 * (0.9 - p), 0.0]))


def test_eq5_batch_moves_a_centroid_by_the_mean_of_its_points_deltas():
    centroids = torch.tensor([[0.0, 0.0]])
    psi = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = 2 * (1 - 1 / (1 + math.exp(-1)))  # both at distance 1
    new, _, _ = reinforce_centroid_update(centroids, psi, torch.tensor([1.0, 0.5]), torch.tensor([True, False]), alpha=1.0)
    # deltas: +1 * (1 - p) * (1, 0) and -1 * (0.5 - p) * (0, 1); the centroid moves by their mean
    assert torch.allclose(new[0], torch.tensor([(1 - p) / 2, -(0.5 - p) / 2]))


def test_eq6_rectification_adds_the_cosine_weighted_mean_of_the_k_nearest_neighbours():
    targets = torch.tensor([[1.0, 0.0]])
    neighbours = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # cosines 1, 0, 0.7071; the 2 nearest: (1, 0) with cos 1 and (1, 1) with cos 1/sqrt(2)
    # a_hat = (1, 0) + (1/2) * (1 * (1, 0) + 0.7071 * (1, 1)) = (1.85355, 0.35355)
    rectified = rectify_class_embeddings(targets, neighbours, k=2)
    assert torch.allclose(rectified, torch.tensor([[1.5 + 0.5 / math.sqrt(2), 0.5 / math.sqrt(2)]]))
    assert torch.equal(rectify_class_embeddings(targets, neighbours, k=0), targets)
    with pytest.raises(ValueError, match="exceeds the 3 seen classes"):
        rectify_class_embeddings(targets, neighbours, k=4)


def test_eq7_purity():
    # cluster 0 holds a, a, b (majority 2), cluster 1 holds b, b (2): purity (2 + 2) / 5
    assert cluster_purity([0, 0, 0, 1, 1], ["a", "a", "b", "b", "b"]) == pytest.approx(0.8)
    assert cluster_purity([0, 1, 2], [5, 5, 5]) == 1.0
    with pytest.raises(ValueError, match="one of each per sample"):
        cluster_purity([0, 1], [0])


def test_kmeans_finds_separated_clusters_and_random_clustering_uses_every_cluster():
    points = torch.cat([torch.randn(20, 2, generator=torch.Generator().manual_seed(0)) * 0.1 + c for c in (torch.tensor([5.0, 0]), torch.tensor([-5.0, 0]))])
    centroids = kmeans(points, 2, seed=0)
    assert sorted(round(c) for c in centroids[:, 0].tolist()) == [-5, 5]
    assert random_clustering(points, 3, seed=0).shape == (3, 2)
    with pytest.raises(ValueError, match="larger than the number of training samples"):
        kmeans(points[:3], 4)


def test_forward_follows_transformers_conventions_and_the_loss_is_the_seen_class_cross_entropy():
    model = tiny_model(l2_regularization=0.0, semantic_regression_weight=0.0)
    x, labels = torch.randn(4, 6), torch.tensor([0, 2, 1, 0])
    model.initialize_centroids(torch.randn(10, 6), torch.tensor([0, 1, 2] * 3 + [0]))
    out = model(x, labels=labels, output_hidden_states=True)
    assert out.logits.shape == (4, 5) and out.cluster_weights.shape == (4, 2) and out.representation.shape == (4, 12)
    assert len(out.hidden_states) == 4  # psi, omega and the classifier's two hidden layers
    # eq. 2-3 without regularisers: cross-entropy of the softmax over the seen columns (classes 0, 1, 2)
    assert torch.allclose(out.loss, torch.nn.functional.cross_entropy(out.logits[:, :3], labels))
    as_tuple = model(x, labels=labels, return_dict=False)
    assert torch.equal(as_tuple[0], out.loss) and torch.equal(as_tuple[1], out.logits)


def test_l2_regulariser_is_half_lambda_times_the_squared_weights():
    model = tiny_model(l2_regularization=0.5, semantic_regression_weight=0.0, clustering="none")
    x, labels = torch.randn(3, 6), torch.tensor([0, 1, 2])
    out = model(x, labels=labels)
    squares = sum(p.pow(2).sum() for name, p in model.named_parameters() if p.requires_grad and name != "centroids")
    assert torch.allclose(out.loss, torch.nn.functional.cross_entropy(out.logits[:, :3], labels) + 0.25 * squares)


def test_unseen_scores_use_rectified_embeddings_and_zsl_predicts_only_unseen_classes():
    model = tiny_model(rectification_neighbors=2)
    embeddings = model.scoring_embeddings()
    assert torch.equal(embeddings[:3], model.class_embeddings[:3])
    assert torch.allclose(embeddings[3:], rectify_class_embeddings(model.class_embeddings[3:], model.class_embeddings[:3], 2))
    model.initialize_centroids(torch.randn(10, 6), torch.tensor([0, 1, 2] * 3 + [0]))
    x = torch.randn(20, 6)
    assert set(model.predict(x, task="zsl").tolist()) <= {3, 4}
    assert set(model.predict(x, task="seen").tolist()) <= {0, 1, 2}
    with pytest.raises(ValueError, match="seen_detection_threshold is not set"):
        model.predict(x, task="gzsl")
    model.config.seen_detection_threshold = 2.0  # above any probability: everything goes to the unseen classes
    assert torch.equal(model.predict(x, task="gzsl"), model.predict(x, task="zsl"))
    with pytest.raises(ValueError, match="task 'nope' is unknown"):
        model.predict(x, task="nope")


def test_save_and_load_through_the_auto_classes_gives_identical_predictions(tmp_path):
    model = tiny_model()
    model.set_feature_statistics(torch.randn(10, 6) * 3 + 1)
    model.initialize_centroids(torch.randn(10, 6), torch.tensor([0, 1, 2] * 3 + [0]))
    model.config.seen_detection_threshold = 0.4
    model.save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).model_type == "claster"
    loaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(loaded, ClasterForZeroShotVideoClassification)
    x = torch.randn(8, 6)
    for task in ("zsl", "gzsl", "seen"):
        assert torch.equal(model.predict(x, task=task), loaded.predict(x, task=task))
    assert torch.equal(model(x).logits, loaded(x).logits)
    assert loaded.config.class_names == NAMES and loaded.config.seen_classes == [0, 1, 2]


def test_bad_inputs_name_the_problem():
    model = tiny_model()
    with pytest.raises(ValueError, match=r"expected \(batch, 6\)"):
        model(torch.randn(2, 5))
    with pytest.raises(ValueError, match="NaN or infinite"):
        model(torch.tensor([[float("nan")] * 6]))
    with pytest.raises(ValueError, match="unseen classes \\['square moving right'\\]"):
        model(torch.randn(1, 6), labels=torch.tensor([3]))
    with pytest.raises(ValueError, match="got 2 labels for 1 videos"):
        model(torch.randn(1, 6), labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"expected \(5, 4\)"):
        model.set_class_embeddings(torch.randn(4, 4))
    with pytest.raises(ValueError, match="clustering 'spectral' is unknown"):
        ClasterConfig(clustering="spectral", class_names=NAMES)
    with pytest.raises(ValueError, match="duplicates"):
        ClasterConfig(class_names=["a", "a", "b"])
    with pytest.raises(ValueError, match="at least two seen classes"):
        ClasterConfig(class_names=NAMES, seen_classes=[0])
    with pytest.raises(ValueError, match=r"rectification_neighbors \(4\) exceeds the 3 seen classes"):
        ClasterConfig(class_names=NAMES, seen_classes=[0, 1, 2], rectification_neighbors=4)
    with pytest.raises(ValueError, match="needs class_names"):
        ClasterForZeroShotVideoClassification(ClasterConfig())


@pytest.mark.parametrize("obj", [ClasterForZeroShotVideoClassification, cluster_purity])
def test_docstring_examples_run(obj):
    import doctest

    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(obj, globs={}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0

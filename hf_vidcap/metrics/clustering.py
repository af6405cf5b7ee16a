"""Cluster purity (CLASTER eq. 7)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def cluster_purity(assignments: Sequence[int], labels: Sequence[int]) -> float:
    """Eq. 7 of CLASTER: (1/N) sum over clusters of the count of the cluster's most frequent class; 1 when every
    cluster holds one class, near 1/classes for a random assignment.

    Example:
        >>> from hf_vidcap.metrics import cluster_purity
        >>> cluster_purity([0, 0, 0, 1, 1], ["a", "a", "b", "b", "b"])  # (2 + 2) / 5
        0.8
    """
    assignments, labels = [int(a) for a in assignments], list(labels)
    if len(assignments) != len(labels):
        raise ValueError(f"got {len(assignments)} cluster assignments for {len(labels)} labels; pass one of each per sample.")
    if not assignments:
        raise ValueError("no samples: cluster purity needs at least one.")
    by_cluster: dict[int, Counter] = {}
    for cluster, label in zip(assignments, labels):
        by_cluster.setdefault(cluster, Counter())[label] += 1
    return sum(max(counts.values()) for counts in by_cluster.values()) / len(labels)

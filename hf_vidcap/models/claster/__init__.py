from .configuration_claster import CLUSTERINGS, ClasterConfig
from .modeling_claster import (
    ClasterForZeroShotVideoClassification,
    ClasterOutput,
    ClasterPreTrainedModel,
    claster_representation,
    firing_probability,
    kmeans,
    random_clustering,
    rectify_class_embeddings,
    reinforce_centroid_update,
)

__all__ = [
    "CLUSTERINGS",
    "ClasterConfig",
    "ClasterForZeroShotVideoClassification",
    "ClasterOutput",
    "ClasterPreTrainedModel",
    "claster_representation",
    "firing_probability",
    "kmeans",
    "random_clustering",
    "rectify_class_embeddings",
    "reinforce_centroid_update",
]

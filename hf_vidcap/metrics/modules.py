"""What the `evaluate` modules in ``metrics/`` share, so that each module script stays a thin wrapper."""

from __future__ import annotations

from collections.abc import Sequence

COCO_CAPTION_URL = "https://github.com/tylin/coco-caption"


def video_text_metric_info(description: str, citation: str, inputs_description: str, codebase_urls: Sequence[str] = ()):
    """`evaluate.MetricInfo` of a CLIP-based metric: one caption (``predictions``) and its video's embedding
    (``video_embeddings``) per sample."""
    import datasets
    import evaluate

    return evaluate.MetricInfo(
        description=description,
        citation=citation,
        inputs_description=inputs_description,
        features=datasets.Features({"predictions": datasets.Value("string"), "video_embeddings": datasets.Sequence(datasets.Value("float32"))}),
        codebase_urls=list(codebase_urls),
    )


def caption_metric_info(description: str, citation: str, inputs_description: str, codebase_urls: Sequence[str] = (COCO_CAPTION_URL,)):
    """`evaluate.MetricInfo` of a reference-based caption metric: one caption (``predictions``) and a list of
    reference captions (``references``) per sample."""
    import datasets
    import evaluate

    return evaluate.MetricInfo(
        description=description,
        citation=citation,
        inputs_description=inputs_description,
        features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Sequence(datasets.Value("string"))}),
        codebase_urls=list(codebase_urls),
    )

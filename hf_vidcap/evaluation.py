"""Evaluate a video captioner on a dataset split: decode captions, score them with CIDEr-D and BLEU."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .captioning import generate_captions, make_generation_config, unwrap_captioner
from .metrics import CiderD, corpus_bleu, normalize_caption


def score_captions(predictions: list[str], references: list[list[str]]) -> dict[str, float]:
    """Corpus CIDEr-D (document frequencies from these references, as pycocoevalcap) and BLEU-1..4."""
    predictions = [normalize_caption(p) for p in predictions]
    references = [[normalize_caption(r) for r in refs] for refs in references]
    metrics = {"cider_d": CiderD().compute_score(predictions, references)[0]}
    for k, bleu in enumerate(corpus_bleu(predictions, references), start=1):
        metrics[f"bleu_{k}"] = bleu
    return metrics


@torch.no_grad()
def generate_for_dataset(
    model,
    processor,
    dataset,
    collator,
    batch_size: int = 32,
    num_beams: int = 1,
    max_new_tokens: int = 20,
    show_progress: bool = True,
) -> tuple[list[str], dict[str, list]]:
    """Greedy (``num_beams=1``) or beam-search captions for every sample of ``dataset``.

    Returns:
        ``(captions, columns)``: one caption per kept sample, and the samples' other columns by name.
    """
    captioner = unwrap_captioner(model)
    was_training = captioner.training
    captioner.eval()
    device = next(captioner.parameters()).device
    config = make_generation_config(processor, max_new_tokens, num_beams=num_beams)
    captions: list[str] = []
    columns: dict[str, list] = {}
    batches = range(0, len(dataset), batch_size)
    for start in tqdm(batches, desc="captioning", disable=not show_progress):
        batch = collator([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
        video_embeds = captioner.get_video_embeds(batch["pixel_values"].to(device))
        ids, _ = generate_captions(captioner, processor, video_embeds, config)
        captions += processor.decode_captions(ids)
        for key, values in batch["columns"].items():
            columns.setdefault(key, []).extend(values)
    captioner.train(was_training)
    return captions, columns


def evaluate_captioner(
    model, processor, dataset, collator, references_column: str = "captions", **generate_kwargs
) -> tuple[dict[str, float], list[str]]:
    """Caption ``dataset`` and score it. Returns ``(metrics, captions)``; metrics: cider_d, bleu_1..bleu_4."""
    captions, columns = generate_for_dataset(model, processor, dataset, collator, **generate_kwargs)
    return score_captions(captions, columns[references_column]), captions

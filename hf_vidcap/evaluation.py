"""Evaluate a video captioner on a dataset split: decode captions and score them with any of the library's metrics
(the same implementations as the rewards and the `evaluate` modules in ``metrics/``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from .captioning import default_num_frames, generate_captions, make_generation_config, unwrap_captioner
from .data.collator import is_empty_batch
from .metrics import CiderD, corpus_bleu, normalize_caption, normalize_corpus

CAPTION_METRICS = ("cider_d", "bleu", "rouge_l", "meteor", "spice")
CLIP_METRICS = ("clip_score", "ref_clip_score", "retrieval", "zero_shot")
METRICS = CAPTION_METRICS + CLIP_METRICS + ("diversity",)


def score_captions(predictions: list[str], references: list[list[str]], metrics: Sequence[str] = ("cider_d", "bleu")) -> dict[str, float]:
    """Reference-based caption metrics of a corpus, after `normalize_caption`: ``cider_d`` (document frequencies from
    these references, as pycocoevalcap), ``bleu`` (``bleu_1`` .. ``bleu_4``), ``rouge_l``, ``meteor``, ``spice``."""
    unknown = [m for m in metrics if m not in CAPTION_METRICS]
    if unknown:
        raise ValueError(f"unknown caption metrics {unknown}; choose from {list(CAPTION_METRICS)}.")
    predictions, references = normalize_corpus(predictions, references)
    scores: dict[str, float] = {}
    if "cider_d" in metrics:
        scores["cider_d"] = CiderD().compute_score(predictions, references)[0]
    if "bleu" in metrics:
        for k, bleu in enumerate(corpus_bleu(predictions, references), start=1):
            scores[f"bleu_{k}"] = bleu
    if "rouge_l" in metrics:
        from .metrics import corpus_rouge_l

        scores["rouge_l"] = corpus_rouge_l(predictions, references)[0]
    if "meteor" in metrics:
        from .metrics import meteor

        scores["meteor"] = meteor(predictions, references)[0]
    if "spice" in metrics:
        from .metrics import spice

        scores["spice"] = spice(predictions, references)[0]
    return scores


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
    num_return_sequences: int = 1,
    do_sample: bool = False,
    video_embedder=None,
    **generation_kwargs,
) -> tuple[list[str], dict[str, list]]:
    """Greedy (``num_beams=1``), beam-search or sampled (``do_sample``) captions for every sample of ``dataset``.

    Args:
        num_return_sequences (`int`): captions per video (the top beams, or independent samples).
        video_embedder (*optional*): a `CLIPEmbedder`; each video's embedding is then returned in the column
            ``"video_embedding"``.
        generation_kwargs: further `GenerationConfig` fields (``min_new_tokens``, ``length_penalty``, ...).

    Returns:
        ``(captions, columns)``: ``num_return_sequences`` captions per kept sample (grouped by sample), and the
        samples' other columns by name.
    """
    from .models.captioner import configure_captioner

    configure_captioner(model, processor)
    captioner = unwrap_captioner(model)
    was_training = captioner.training
    captioner.eval()
    device = next(captioner.parameters()).device
    settings = {"num_beams": num_beams, "num_return_sequences": num_return_sequences, "do_sample": do_sample, **generation_kwargs}
    config = make_generation_config(processor, max_new_tokens, **settings)
    captions: list[str] = []
    columns: dict[str, list] = {}
    batches = range(0, len(dataset), batch_size)
    for start in tqdm(batches, desc="captioning", disable=not show_progress):
        batch = collator([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
        if is_empty_batch(batch):  # every video unreadable and skip_corrupt set: nothing to caption
            continue
        video_embeds = captioner.get_video_embeds(batch["pixel_values"].to(device))
        ids, _ = generate_captions(captioner, processor, video_embeds, config)
        captions += processor.decode_captions(ids)
        for key, values in batch["columns"].items():
            columns.setdefault(key, []).extend(values)
        if video_embedder is not None:
            columns.setdefault("video_embedding", []).extend(video_embedder.encode_video(frames) for frames in batch["video_frames"])
    captioner.train(was_training)
    return captions, columns


def _caption_class_scores(captions, labels, embedder, class_names, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C) log p(class | caption) over ``class_names`` and the (N,) label indices."""
    from .encoders import CaptionClassifier

    if len(captions) != len(labels):
        raise ValueError(f"got {len(captions)} captions and {len(labels)} labels; pass one label per caption.")
    classifier = CaptionClassifier(embedder, class_names, prompt=prompt)
    targets = torch.tensor([classifier.label_index(label, i) for i, label in enumerate(labels)])
    return classifier.log_probs(captions), targets


def zero_shot_classification(
    captions: Sequence[str],
    labels: Sequence,
    embedder,
    class_names,
    *,
    unseen_draws: Sequence[Sequence[int]] | None = None,
    ks: Sequence[int] = (1, 5),
    prompt: str = "{}",
    per_class_mean: bool = False,
) -> dict[str, float]:
    """Zero-shot action recognition by captioning (ReGen's protocol): each caption's text embedding is matched to
    the closest class name (cosine similarity in the embedder's text space).

    Args:
        captions: one caption per video.
        labels: each video's class (index into ``class_names``, or its name).
        embedder: anything with ``encode_text(list[str]) -> (N, D)`` normalised embeddings (a `CLIPEmbedder`).
        class_names (`list[str]` or `datasets.ClassLabel`): every class of the evaluation set.
        unseen_draws (`list[list[int]]`, *optional*): the zero-shot protocol's draws of unseen classes (e.g.
            ReGen's 10 random halves of UCF-101). For each draw: **ZSL** top-k over the draw's classes only, on the
            videos of those classes; **GZSL** over all classes, on every video: accuracy on seen-class videos, on
            unseen-class videos and their harmonic mean. Reported as the mean over draws, with ``*_std`` (sample
            std; 0 for one draw) and ``num_draws``. Without draws: top-k over all classes.
        ks: the k of top-k (those larger than the candidate classes are left out).
        prompt: template for the class names (``"a video of {}"``).
        per_class_mean: average per-class accuracies (mean class accuracy) instead of per video.

    Returns:
        Accuracies in percent: ``top1_accuracy`` ... without draws; ``zsl_top1_accuracy``, ``gzsl_seen_accuracy``,
        ``gzsl_unseen_accuracy``, ``gzsl_harmonic_mean`` (each with ``_std``) with draws.
    """
    import statistics

    from .metrics import generalized_zero_shot_accuracy, top_k_accuracy

    scores, targets = _caption_class_scores(captions, labels, embedder, class_names, prompt)
    num_classes = scores.shape[1]
    if unseen_draws is None:
        return top_k_accuracy(scores, targets.tolist(), [k for k in ks if k <= num_classes], per_class_mean)
    per_draw: dict[str, list[float]] = {}
    for index, draw in enumerate(unseen_draws):
        unseen = sorted({int(c) for c in draw})
        if not unseen or unseen[0] < 0 or unseen[-1] >= num_classes:
            raise ValueError(f"unseen_draws[{index}] must be a non-empty list of class indices in [0, {num_classes}).")
        chosen = torch.isin(targets, torch.tensor(unseen))
        if not chosen.any():
            raise ValueError(f"unseen_draws[{index}] holds no class of any video; check the draw against the labels.")
        # ZSL: the draw's classes are the only candidates (columns re-indexed 0..U-1).
        remap = {c: i for i, c in enumerate(unseen)}
        zsl = top_k_accuracy(
            scores[chosen][:, unseen], [remap[int(t)] for t in targets[chosen]], [k for k in ks if k <= len(unseen)], per_class_mean
        )
        results = {f"zsl_{key}": value for key, value in zsl.items()}
        if len(unseen) < num_classes and not chosen.all():
            gzsl = generalized_zero_shot_accuracy(scores, targets.tolist(), unseen, per_class_mean)
            results.update({f"gzsl_{key}": value for key, value in gzsl.items()})
        for key, value in results.items():
            per_draw.setdefault(key, []).append(value)
    summary: dict[str, float] = {"num_draws": float(len(unseen_draws))}
    for key, values in per_draw.items():
        summary[key] = statistics.mean(values)
        summary[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
    return summary


def zero_shot_metrics(embedder, class_names, label_column: str = "label", **kwargs):
    """`zero_shot_classification` as ``compute_metrics`` for `VideoSCSTTrainer`: ``f(captions, columns)`` reads the
    labels from ``columns[label_column]``; keyword arguments (``unseen_draws``, ``ks``, ``prompt``) are passed on."""

    def compute_metrics(captions: list[str], columns: dict) -> dict[str, float]:
        if label_column not in columns:
            raise ValueError(f"zero-shot evaluation needs the dataset's {label_column!r} column (columns: {sorted(columns)}).")
        return zero_shot_classification(captions, columns[label_column], embedder, class_names, **kwargs)

    return compute_metrics


def evaluate_captioner(
    model,
    processor,
    dataset,
    collator=None,
    metrics: Sequence[str] = ("cider_d", "bleu"),
    *,
    references_column: str = "captions",
    clip_model=None,
    class_names: Sequence[str] | None = None,
    label_column: str = "label",
    unseen_classes: Sequence[int] | None = None,
    class_prompt: str = "{}",
    num_diverse_captions: int = 5,
    diversity_decoding: str = "sample",
    batch_size: int = 32,
    num_beams: int = 1,
    max_new_tokens: int = 20,
    show_progress: bool = True,
) -> tuple[dict[str, float], list[str]]:
    """Caption a dataset split and score it with every configured metric, in one call (with a progress bar).

    Args:
        model, processor: the captioner (PEFT/DDP wrappers are fine) and its processor.
        dataset (`datasets.Dataset`): rows with a video and ``references_column`` (and ``label_column`` for
            ``zero_shot``).
        collator (*optional*): turns rows into a batch; defaults to a `VideoCaptionCollator` for ``processor``.
        metrics (`list[str]`): any of
            - ``cider_d``, ``bleu`` (BLEU-1..4), ``rouge_l``, ``meteor`` (Java), ``spice`` (Java + CoreNLP);
            - ``clip_score``, ``ref_clip_score``, ``retrieval`` (text-to-video and video-to-text recall@1/5/10 among
              the split's videos), with ``clip_model``;
            - ``zero_shot`` (ReGen: caption -> nearest class name; top-1/top-5, and seen/unseen/harmonic with
              ``unseen_classes``), with ``clip_model`` and the class names (``class_names`` or the ClassLabel of
              ``label_column``);
            - ``diversity``: Div-1, Div-2 and mBLEU-4 over ``num_diverse_captions`` captions per video decoded with
              ``diversity_decoding`` (``"sample"`` or ``"beam"``), Self-BLEU-4 and vocabulary size of the main captions.
        clip_model (`str` or `CLIPEmbedder`, *optional*): a fixed CLIP model for the CLIP metrics.
        num_beams (`int`): 1 for greedy captions, more for beam search.

    Returns:
        ``(metrics, captions)``: a flat ``{name: value}`` dict and the main caption of each video.
    """
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {list(METRICS)}.")
    needs_clip = [m for m in metrics if m in CLIP_METRICS]
    if needs_clip and clip_model is None:
        raise ValueError(f"metrics {needs_clip} need clip_model: a CLIP checkpoint name or path, or a CLIPEmbedder.")
    if "zero_shot" in metrics:
        if class_names is None:
            feature = dataset.features.get(label_column) if hasattr(dataset, "features") else None
            class_names = getattr(feature, "names", None)
        if class_names is None:
            raise ValueError(f"the zero_shot metric needs class_names, or a ClassLabel column {label_column!r} in the dataset.")
    if "diversity" in metrics:
        if diversity_decoding not in ("sample", "beam"):
            raise ValueError(f"diversity_decoding ({diversity_decoding!r}) must be 'sample' or 'beam'.")
        if num_diverse_captions < 2:
            raise ValueError(f"num_diverse_captions ({num_diverse_captions}) must be >= 2 for mBLEU.")
    if "spice" in metrics:
        from .metrics.java import check_spice_available

        check_spice_available()  # fail before decoding, not after
    if collator is None:
        from .data.collator import VideoCaptionCollator

        # The model's frame slots count the images it sees (frames plus appended differences): sample accordingly.
        collator = VideoCaptionCollator(processor, num_frames=default_num_frames(model, processor), references_column=references_column)
    if needs_clip:
        from .encoders import load_clip_embedder

        embedder = load_clip_embedder(clip_model)
    else:
        embedder = None
    captions, columns = generate_for_dataset(
        model, processor, dataset, collator, batch_size=batch_size, num_beams=num_beams, max_new_tokens=max_new_tokens,
        show_progress=show_progress, video_embedder=embedder,
    )
    references = columns.get(references_column)
    caption_metrics = [m for m in metrics if m in CAPTION_METRICS]
    if (caption_metrics or "ref_clip_score" in metrics) and references is None:
        raise ValueError(f"the dataset has no {references_column!r} column of reference captions; set references_column.")
    results = score_captions(captions, references, caption_metrics) if caption_metrics else {}
    if embedder is not None:
        from .metrics import clip_s, retrieval_recall

        text = embedder.encode_text(captions)
        videos = torch.stack(columns["video_embedding"])
        scores = clip_s(text, videos)
        if "clip_score" in metrics:
            results["clip_score"] = scores.mean().item()
        if "ref_clip_score" in metrics:
            from .encoders import ref_clip_scores

            results["ref_clip_score"] = ref_clip_scores(embedder, scores, text, references).mean().item()
        if "retrieval" in metrics:
            similarity = text @ torch.nn.functional.normalize(videos, dim=-1).T
            results.update(retrieval_recall(similarity))
        if "zero_shot" in metrics:
            from .metrics import generalized_zero_shot_accuracy, top_k_accuracy

            if label_column not in columns:
                raise ValueError(f"the zero_shot metric needs the dataset's {label_column!r} column (class indices).")
            # One encoding of the captions and class names serves top-k and the generalised metrics.
            scores, targets = _caption_class_scores(captions, columns[label_column], embedder, class_names, class_prompt)
            results.update(top_k_accuracy(scores, targets.tolist(), [k for k in (1, 5) if k <= scores.shape[1]]))
            if unseen_classes is not None:
                results.update(generalized_zero_shot_accuracy(scores, targets.tolist(), unseen_classes))
    if "diversity" in metrics:
        from .metrics import distinct_ngrams, mbleu, self_bleu, vocabulary_size

        sampled = dict(do_sample=True) if diversity_decoding == "sample" else dict(num_beams=max(num_beams, num_diverse_captions))
        diverse, _ = generate_for_dataset(
            model, processor, dataset, collator, batch_size=batch_size, max_new_tokens=max_new_tokens,
            show_progress=show_progress, num_return_sequences=num_diverse_captions, **sampled,
        )
        sets = [[normalize_caption(c) for c in diverse[i : i + num_diverse_captions]] for i in range(0, len(diverse), num_diverse_captions)]
        main = [normalize_caption(c) for c in captions]
        results.update(div_1=distinct_ngrams(sets, 1), div_2=distinct_ngrams(sets, 2), mbleu_4=mbleu(sets, 4))
        if len(main) >= 2:
            results["self_bleu_4"] = self_bleu(main, 4)
        results["vocabulary_size"] = float(vocabulary_size(main))
    return results, captions

"""CLASTER (Gowda et al., ECCV 2022): zero-shot action recognition with a cluster-based representation whose
centroids are optimised by REINFORCE. Per seen/unseen draw: video features from a frozen transformers video encoder
(cached), class-name embeddings from a sentence encoder, the a'(y) fit and K-means, 10,000 iterations of the
classification + centroid updates, then ZSL (mean class accuracy on the unseen classes) and GZSL (harmonic mean of
seen and unseen accuracy). The result is the mean ± std over the draws (the paper: 10 random 50/50 draws).

Paper datasets (the official releases in ``data_dir``; the video encoder from the Hub):

    accelerate launch recipes/claster_ucf101.py --config recipes/configs/claster/ucf101.yaml
    accelerate launch recipes/claster_ucf101.py --config recipes/configs/claster/hmdb51.yaml
    accelerate launch recipes/claster_ucf101.py --config recipes/configs/claster/olympic_sports.yaml

Table 1's ablation rows: ``--ablation no_clustering | random_clustering | kmeans | without_semantic_embeddings |
without_rl | claster``. Offline on the shapes world (31 shape x action classes; a tiny VideoMAE fine-tuned on each
draw's seen classes only is the video encoder):

    python -m hf_vidcap.encoders.video_features outputs/tiny_videomae_shapes
    python recipes/claster_ucf101.py --config recipes/configs/claster/shapes.yaml
"""

import json
import os
import statistics
from dataclasses import dataclass, field, replace

import torch
from trl import TrlParser

from hf_vidcap.data import generate_shapes_action_dataset, load_action_dataset
from hf_vidcap.encoders import (
    DEFAULT_SENTENCE_ENCODER,
    VideoFeatureExtractor,
    load_sentence_embedder,
    train_video_classifier,
)
from hf_vidcap.models import ClasterConfig, ClasterForZeroShotVideoClassification
from hf_vidcap.trainer import CLASTER_ABLATIONS, ClasterTrainer, ClasterTrainingConfig


@dataclass
class ClasterScriptArguments:
    r"""
    Data, encoders, model size and the protocol of the CLASTER recipe (training settings: `ClasterTrainingConfig`).

    dataset_name (`str`): ``ucf101``, ``hmdb51``, ``olympic_sports``, ``folder`` (`load_action_dataset`) or ``shapes``.
    data_dir (`str`): the dataset's local copy (for shapes: where the clips are written).
    zero_shot_draws (`list[int]`): the seeded 50/50 seen/unseen draws to run (the paper averages 10).
    class_split (`str`, *optional*): a fixed split instead (a JSON ``{"seen": [...], "unseen": [...]}``: TruZe).
    held_out_fraction (`float`): share of the seen training videos held out to calibrate the GZSL bias detector.
    video_encoder (`str`): a transformers video encoder (Hub id or folder) whose features are cached.
    finetune_video_encoder_steps (`int`): > 0 fine-tunes the encoder as a classifier of the draw's seen classes first
        (only the seen training videos; the shapes setting, whose tiny encoder starts random).
    sentence_encoder (`str`): the class-name encoder (default all-MiniLM-L6-v2, packaged offline).
    ablation (`str`): the row of Table 1 (`CLASTER_ABLATIONS`).
    hidden_size, num_clusters, rectification_neighbors (`int`): `ClasterConfig` settings.
    """

    dataset_name: str = field(default="ucf101", metadata={"help": "ucf101, hmdb51, olympic_sports, folder or shapes."})
    data_dir: str | None = field(default=None, metadata={"help": "Local copy of the dataset (shapes: where clips are written)."})
    zero_shot_draws: list[int] = field(default_factory=lambda: list(range(10)), metadata={"help": "Seen/unseen draws to run."})
    class_split: str | None = field(default=None, metadata={"help": "JSON with a fixed seen/unseen split (TruZe)."})
    held_out_fraction: float = field(default=0.1, metadata={"help": "Seen training videos held out for the GZSL bias detector."})
    video_encoder: str = field(default="MCG-NJU/videomae-base", metadata={"help": "Frozen transformers video encoder."})
    video_num_frames: int | None = field(default=None, metadata={"help": "Frames per video (default: the encoder's)."})
    feature_cache_dir: str | None = field(default=None, metadata={"help": "Feature cache (default: <output_dir>/feature_cache)."})
    finetune_video_encoder_steps: int = field(default=0, metadata={"help": "Fine-tune the encoder on the seen classes first (steps)."})
    finetune_video_encoder_learning_rate: float = field(default=1e-3, metadata={"help": "Its learning rate."})
    sentence_encoder: str = field(default=DEFAULT_SENTENCE_ENCODER, metadata={"help": "Class-name encoder."})
    ablation: str = field(default="claster", metadata={"help": "Table 1 row: " + ", ".join(CLASTER_ABLATIONS)})
    hidden_size: int = field(default=1024, metadata={"help": "Width of the MLPs (the paper: 8192)."})
    num_clusters: int = field(default=6, metadata={"help": "K (the paper: 6)."})
    rectification_neighbors: int = field(default=3, metadata={"help": "k of eq. 6."})
    shapes_clips_per_class: int = field(default=30, metadata={"help": "Shapes: clips per class."})

    def __post_init__(self):
        if self.ablation not in CLASTER_ABLATIONS:
            raise ValueError(f"ablation {self.ablation!r} is unknown; use one of {list(CLASTER_ABLATIONS)}.")
        if not 0 < self.held_out_fraction < 1:
            raise ValueError(f"held_out_fraction ({self.held_out_fraction}) must be in (0, 1).")
        if self.dataset_name == "shapes" and self.data_dir is None:
            self.data_dir = "data/shapes_actions"


def load_draw(script_args, draw: int | None, seed: int) -> dict:
    """The draw's splits: train (minus the held-out share), held_out, test_seen, test_unseen."""
    name = "folder" if script_args.dataset_name == "shapes" else script_args.dataset_name
    if script_args.dataset_name == "shapes":
        generate_shapes_action_dataset(script_args.data_dir, clips_per_class=script_args.shapes_clips_per_class)
    split_args = {"class_split": script_args.class_split} if script_args.class_split else {"zero_shot_draw": draw}
    splits = {s: load_action_dataset(name, s, data_dir=script_args.data_dir, **split_args) for s in ("train", "test_seen", "test_unseen")}
    parts = splits["train"].train_test_split(test_size=script_args.held_out_fraction, seed=seed)
    return {"train": parts["train"], "held_out": parts["test"], "test_seen": splits["test_seen"], "test_unseen": splits["test_unseen"]}


def video_features(script_args, splits: dict, output_dir: str, seed: int) -> dict:
    """The splits with a ``video_features`` column from the (optionally seen-class fine-tuned) frozen encoder."""
    cache = script_args.feature_cache_dir or os.path.join(output_dir, "feature_cache")
    encoder_path = script_args.video_encoder
    if script_args.finetune_video_encoder_steps:
        from transformers import AutoModelForVideoClassification, AutoVideoProcessor

        seen = sorted(set(splits["train"]["label"]))
        torch.manual_seed(seed)
        classifier = AutoModelForVideoClassification.from_pretrained(encoder_path, num_labels=len(seen), ignore_mismatched_sizes=True)
        processor = AutoVideoProcessor.from_pretrained(encoder_path)
        report = train_video_classifier(
            classifier, processor, splits["train"], num_frames=script_args.video_num_frames, steps=script_args.finetune_video_encoder_steps,
            learning_rate=script_args.finetune_video_encoder_learning_rate, seed=seed,
        )
        print(f"video encoder fine-tuned on {len(seen)} seen classes: train accuracy {report['train_accuracy']:.3f}")
        encoder_path = os.path.join(output_dir, "video_encoder")
        classifier.save_pretrained(encoder_path)
        processor.save_pretrained(encoder_path)
    extractor = VideoFeatureExtractor.from_pretrained(encoder_path, num_frames=script_args.video_num_frames, cache_dir=cache)
    return {name: extractor.add_to_dataset(split) for name, split in splits.items()}


def run_draw(script_args, training_args, draw: int | None, embedder) -> dict:
    output_dir = os.path.join(training_args.output_dir, f"draw{draw}" if draw is not None else "fixed_split")
    args = replace(training_args, output_dir=output_dir, **CLASTER_ABLATIONS[script_args.ablation][1])
    splits = video_features(script_args, load_draw(script_args, draw, args.seed), output_dir, args.seed)
    names = splits["train"].features["label"].names
    seen = sorted(set(splits["train"]["label"]))
    torch.manual_seed(args.seed)
    config = ClasterConfig(
        visual_size=len(splits["train"][0]["video_features"]), semantic_size=embedder.embedding_size, hidden_size=script_args.hidden_size,
        num_clusters=script_args.num_clusters, rectification_neighbors=script_args.rectification_neighbors, class_names=names,
        seen_classes=seen, **CLASTER_ABLATIONS[script_args.ablation][0],
    )
    model = ClasterForZeroShotVideoClassification(config)
    model.set_class_embeddings(embedder.encode(names))
    trainer = ClasterTrainer(model, args, train_dataset=splits["train"], eval_dataset=splits["held_out"])
    trainer.train()
    trainer.save_model(output_dir)
    results = {"draw": draw, "centroid_update": args.centroid_update, **trainer.evaluate_zero_shot(splits["test_unseen"], splits["test_seen"]), **trainer.preparation}
    trainer.save_metrics("test", results)
    print(f"draw {draw}: " + ", ".join(f"{k} {v:.3f}" for k, v in results.items() if isinstance(v, float)))
    return results


def summarize(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, float)]
    return {k: {"mean": statistics.mean(r[k] for r in runs), "std": statistics.pstdev(r[k] for r in runs) if len(runs) > 1 else 0.0} for k in keys}


def main(script_args, training_args):
    embedder = load_sentence_embedder(script_args.sentence_encoder)
    draws = [None] if script_args.class_split else script_args.zero_shot_draws
    runs = [run_draw(script_args, training_args, draw, embedder) for draw in draws]
    summary = summarize(runs)
    os.makedirs(training_args.output_dir, exist_ok=True)
    with open(os.path.join(training_args.output_dir, "claster_results.json"), "w") as f:
        json.dump({"ablation": script_args.ablation, "runs": runs, "summary": summary}, f, indent=2)
    print(f"| {script_args.ablation} | " + " | ".join(f"{k} {v['mean']:.2f} ± {v['std']:.2f}" for k, v in summary.items() if k in ("zsl_accuracy", "gzsl_harmonic_mean", "purity_before", "purity_after")) + " |")
    return runs, summary


if __name__ == "__main__":
    parser = TrlParser((ClasterScriptArguments, ClasterTrainingConfig))
    main(*parser.parse_args_and_config())

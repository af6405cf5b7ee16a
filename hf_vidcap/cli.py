"""``hf-vidcap``: the library from the command line, thin over its functions.

    hf-vidcap tiny-model video_blip2 outputs/tiny --num_frames 8         # a tiny random checkpoint (offline)
    hf-vidcap shapes data/shapes --num_train 800                         # generate the synthetic shapes world
    hf-vidcap caption data/shapes/test --model outputs/shapes_tiny_scst --output captions.jsonl
    hf-vidcap evaluate --model outputs/shapes_tiny_scst --dataset shapes --data_dir data/shapes --split test
    hf-vidcap train recipes/configs/blip2/shapes_tiny_scst.yaml         # accelerate launch <recipe> --config ...
    hf-vidcap push outputs/shapes_tiny_scst --repo_id me/shapes-captioner --results results.json

``hf-vidcap <command> --help`` lists each command's options with their defaults.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".gif", ".m4v")
# Recipe of each config folder (recipes/configs/<family>/...).
RECIPES = {"blip2": "blip2_msrvtt_scst", "git": "git_kinetics_regen"}
RECIPES_DIR = Path(__file__).resolve().parents[1] / "recipes"


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, unless it is None or the help already says what the default is."""

    def _get_help_string(self, action):
        if action.default is None or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _formatter(prog):
    return _DefaultsFormatter(prog, max_help_position=36)


def find_videos(paths: list[str]) -> list[str]:
    """The video files among ``paths``: files as given, folders searched recursively (sorted)."""
    videos = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS)
            if not found:
                raise SystemExit(f"error: no video files ({', '.join(VIDEO_EXTENSIONS)}) under {path}.")
            videos += found
        elif path.exists():
            videos.append(str(path))
        else:
            raise SystemExit(f"error: {path} does not exist; give video files or folders.")
    return videos


# -------------------------------------------------------------------------------------------------------- commands


def _caption(args) -> None:
    from transformers import pipeline

    videos = find_videos(args.videos)
    captioner = pipeline("video-captioning", model=args.model, device=args.device)
    settings = {"max_new_tokens": args.max_new_tokens, "num_beams": args.num_beams, "num_return_sequences": args.num_return_sequences}
    if args.do_sample:
        settings["do_sample"] = True
    if args.num_frames:
        settings["num_frames"] = args.num_frames
    outputs = captioner(videos, batch_size=args.batch_size, **settings)
    rows = [{"video": video, "caption": out["generated_text"]} for video, per_video in zip(videos, outputs) for out in per_video]
    if args.output and args.output.endswith(".csv"):
        with open(args.output, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["video", "caption"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        text = "".join(json.dumps(row) + "\n" for row in rows)
        if args.output:
            Path(args.output).write_text(text)
        else:
            sys.stdout.write(text)
    if args.output:
        print(f"{len(rows)} captions of {len(videos)} videos written to {args.output}", file=sys.stderr)


def _load_split(args):
    if args.dataset == "shapes":
        from .data import load_shapes_dataset

        if not args.data_dir:
            raise SystemExit("error: --dataset shapes needs --data_dir (a folder written by `hf-vidcap shapes`).")
        return load_shapes_dataset(args.data_dir)[args.split]
    from .data import load_caption_dataset

    return load_caption_dataset(args.dataset, args.split, data_dir=args.data_dir, video_dir=args.video_dir, source=args.source)


def _evaluate(args) -> None:
    from .evaluation import evaluate_captioner
    from .models import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor

    split = _load_split(args)
    if args.max_samples:
        split = split.select(range(min(args.max_samples, len(split))))
    processor = AutoVideoCaptionProcessor.from_pretrained(args.model)
    model = AutoModelForVideoCaptioning.from_pretrained(args.model)
    metrics, captions = evaluate_captioner(
        model, processor, split, metrics=args.metrics, clip_model=args.clip_model, batch_size=args.batch_size,
        num_beams=args.num_beams, max_new_tokens=args.max_new_tokens, show_progress=not args.quiet,
    )
    print(f"| metric | {args.dataset} {args.split} ({len(captions)} videos) |\n|---|---|")
    for name, value in metrics.items():
        print(f"| {name} | {value:.4f} |" if isinstance(value, float) else f"| {name} | {value} |")
    if args.output:
        record = {"model": args.model, "dataset": args.dataset, "split": args.split, "num_videos": len(captions), "metrics": metrics}
        Path(args.output).write_text(json.dumps({**record, "captions": captions}, indent=2) + "\n")
        print(f"results written to {args.output}", file=sys.stderr)


def train_command(config: str, recipe: str | None, accelerate_config: str, extra: list[str]) -> list[str]:
    """The ``accelerate launch`` command line of a recipe config (the recipe chosen by the config's folder)."""
    config_path = Path(config)
    if not config_path.is_file():
        raise SystemExit(f"error: no recipe config at {config}; see recipes/configs/.")
    name = recipe or RECIPES.get(config_path.parent.name)
    if name is None:
        raise SystemExit(f"error: which recipe runs {config}? Its folder is not one of {sorted(RECIPES)}: pass --recipe {sorted(RECIPES.values())}.")
    script = RECIPES_DIR / f"{name}.py"
    if not script.is_file():
        raise SystemExit(f"error: recipe {script} not found; `hf-vidcap train` runs from a clone of the repository (recipes/ is not packaged).")
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", accelerate_config, str(script), "--config", config, *extra]


def _train(args, extra: list[str]) -> None:
    command = train_command(args.config, args.recipe, args.accelerate_config, extra)
    print(" ".join(command), file=sys.stderr)
    if not args.print_only:
        raise SystemExit(subprocess.call(command))


def _push(args) -> None:
    from .hub import push_eval_results, push_folder

    commit = push_folder(args.checkpoint, args.repo_id, private=args.private or None, token=args.token)
    print(f"pushed {args.checkpoint} to {args.repo_id}: {getattr(commit, 'commit_url', commit)}")
    if args.results:
        record = json.loads(Path(args.results).read_text())
        metrics = {k: v for k, v in record["metrics"].items() if isinstance(v, (int, float))}
        url = push_eval_results(
            args.repo_id, metrics, dataset_name=args.dataset_name or record.get("dataset", "unknown"),
            dataset_split=record.get("split", "test"), token=args.token,
        )
        print(f"evaluation results added to the model card: {url}")


def _shapes(args) -> None:
    from .data import ShapesWorldConfig, generate_shapes_dataset

    config = ShapesWorldConfig(
        num_train=args.num_train, num_validation=args.num_validation, num_test=args.num_test, num_frames=args.num_frames,
        seed=args.seed, action_caption_prob=args.action_caption_prob, near_duplicate_prob=args.near_duplicate_prob,
    )
    path = generate_shapes_dataset(args.output_dir, config, overwrite=args.overwrite)
    print(f"shapes world v{config.version} in {path}")


# ---------------------------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hf-vidcap", description="RL fine-tuning of video captioners: caption, evaluate, train, publish.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = commands.add_parser("caption", help="caption videos (files or folders) with a checkpoint", formatter_class=_formatter)
    p.add_argument("videos", nargs="+", help="video files or folders (searched recursively)")
    p.add_argument("--model", required=True, help="checkpoint folder or Hub repo id")
    p.add_argument("--output", help="captions.jsonl or captions.csv (default: JSON lines on stdout)")
    p.add_argument("--num_frames", type=int, default=None, help="frames per video (default: what the model takes)")
    p.add_argument("--num_beams", type=int, default=1, help="beam search when > 1")
    p.add_argument("--num_return_sequences", type=int, default=1, help="captions per video")
    p.add_argument("--do_sample", action="store_true", help="sample instead of greedy / beam search")
    p.add_argument("--max_new_tokens", type=int, default=20, help="longest caption, in tokens")
    p.add_argument("--batch_size", type=int, default=1, help="videos per forward")
    p.add_argument("--device", default=None, help="e.g. cpu, cuda:0 (default: transformers' choice)")

    p = commands.add_parser("evaluate", help="score a checkpoint on a dataset split", formatter_class=_formatter)
    p.add_argument("--model", required=True, help="checkpoint folder or Hub repo id")
    p.add_argument("--dataset", required=True, help="shapes, msrvtt, msvd, vatex, tgif or coco")
    p.add_argument("--split", default="test", help="the split to score")
    p.add_argument("--data_dir", default=None, help="the dataset's local copy (shapes: the generated folder)")
    p.add_argument("--video_dir", default=None, help="where the videos are, when not beside the annotations")
    p.add_argument("--source", default=None, help="a Hub dataset repo in the loader's layout")
    p.add_argument("--metrics", nargs="+", default=["cider_d", "bleu"], help="any of evaluate_captioner's metrics")
    p.add_argument("--clip_model", default=None, help="for the CLIP-based metrics")
    p.add_argument("--num_beams", type=int, default=1, help="beam search when > 1")
    p.add_argument("--max_new_tokens", type=int, default=20, help="longest caption, in tokens")
    p.add_argument("--batch_size", type=int, default=32, help="videos per forward")
    p.add_argument("--max_samples", type=int, default=None, help="evaluate the first N videos only")
    p.add_argument("--output", default=None, help="results JSON (metrics and captions)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = commands.add_parser(
        "train", help="run a recipe config through accelerate (extra arguments go to the recipe)", formatter_class=_formatter
    )
    p.add_argument("config", help="a recipe config, e.g. recipes/configs/blip2/shapes_tiny_scst.yaml")
    p.add_argument("--recipe", default=None, help=f"recipe name (default: by the config's folder: {RECIPES})")
    p.add_argument("--accelerate_config", default=str(RECIPES_DIR / "accelerate_configs" / "cpu.yaml"), help="accelerate launch --config_file")
    p.add_argument("--print_only", action="store_true", help="print the command, do not run it")

    p = commands.add_parser("push", help="push a checkpoint (and evaluation results) to the Hub", formatter_class=_formatter)
    p.add_argument("checkpoint", help="a saved checkpoint folder")
    p.add_argument("--repo_id", required=True, help="namespace/name on the Hub (created if missing)")
    p.add_argument("--results", default=None, help="an `hf-vidcap evaluate --output` JSON to add to the model card")
    p.add_argument("--dataset_name", default=None, help="the dataset named in the card (default: the results')")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--token", default=None, help="default: the logged-in token")

    p = commands.add_parser("shapes", help="generate the synthetic shapes video world", formatter_class=_formatter)
    p.add_argument("output_dir", help="where the clips and captions go")
    p.add_argument("--num_train", type=int, default=800, help="training clips")
    p.add_argument("--num_validation", type=int, default=100, help="validation clips")
    p.add_argument("--num_test", type=int, default=100, help="test clips")
    p.add_argument("--num_frames", type=int, default=8, help="frames per clip")
    p.add_argument("--seed", type=int, default=0, help="everything is derived from it")
    p.add_argument("--action_caption_prob", type=float, default=1.0, help="P(a caption names the action)")
    p.add_argument("--near_duplicate_prob", type=float, default=0.0, help="P(a clip gets a one-attribute twin)")
    p.add_argument("--overwrite", action="store_true", help="replace a different world already in output_dir")

    commands.add_parser("tiny-model", help="write a tiny random checkpoint (see its --help)", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["tiny-model"]:
        from .models.tiny_checkpoints import main as tiny_model

        return tiny_model(argv[1:], prog="hf-vidcap tiny-model")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args, extra = build_parser().parse_known_args(argv)
    if args.command == "train":
        return _train(args, extra)
    if extra:
        raise SystemExit(f"error: unrecognized arguments: {' '.join(extra)}")
    {"caption": _caption, "evaluate": _evaluate, "push": _push, "shapes": _shapes}[args.command](args)


if __name__ == "__main__":
    main()

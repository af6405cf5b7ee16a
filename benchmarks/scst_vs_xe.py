"""The SCST claim on the shapes world, measured against a continued-XE control.

Per seed: train a tiny VideoBlip2 with XE, counted in steps, until validation CIDEr-D plateaus; from that
checkpoint run (a) SCST with the CIDEr-D reward and a greedy baseline for a fixed number of steps, and (b) the
control: XE continued from the same checkpoint, at the XE learning rate, for the same wall time as (a). All three
models are scored on the test split (greedy decoding): CIDEr-D, BLEU-4, and how often the caption names the clip's
true colour, shape and action.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/scst_vs_xe.py --seeds 0 1 2

Writes benchmarks/results/scst_vs_xe.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from hf_vidcap import VideoBlip2ForConditionalGeneration, VideoBlip2Processor
from hf_vidcap.data import (
    ShapesWorldConfig,
    VideoCaptionCollator,
    build_shapes_tokenizer,
    caption_names_attributes,
    generate_shapes_dataset,
    load_shapes_dataset,
)
from hf_vidcap.evaluation import generate_for_dataset, score_captions
from hf_vidcap.models import create_tiny_video_blip2
from hf_vidcap.rewards import get_cider_d_reward
from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer


class PlateauStop(TrainerCallback):
    """Stop XE when validation CIDEr-D has not improved by ``min_delta`` for ``patience`` evaluations."""

    def __init__(self, patience: int, min_delta: float):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.bad, self.history = -1.0, 0, []

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        score = metrics["eval_cider_d"]
        self.history.append((state.global_step, score))
        if score > self.best + self.min_delta:
            self.best, self.bad = score, 0
        else:
            self.bad += 1
            if self.bad >= self.patience:
                control.should_training_stop = True
        return control


class WallClockStop(TrainerCallback):
    def __init__(self, seconds: float):
        self.seconds, self.start = seconds, None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if time.perf_counter() - self.start >= self.seconds:
            control.should_training_stop = True
        return control


def test_scores(model, processor, dataset, collator) -> dict:
    captions, columns = generate_for_dataset(model, processor, dataset, collator, batch_size=100, show_progress=False)
    scores = score_captions(captions, columns["captions"])
    named = [caption_names_attributes(c, {k: columns[k][i] for k in ("color", "shape", "action")}) for i, c in enumerate(captions)]
    for key in ("color", "shape", "action"):
        scores[f"names_{key}"] = sum(n[key] for n in named) / len(named)
    scores["examples"] = [
        {"caption": c, "reference": columns["captions"][i][0]} for i, c in enumerate(captions[:5])
    ]
    return scores


def config(out: str, **kwargs) -> VideoSCSTConfig:
    defaults = dict(
        output_dir=out,
        use_cpu=True,
        per_device_train_batch_size=32,
        per_device_eval_batch_size=100,
        lr_scheduler_type="constant",
        max_completion_length=16,
        save_strategy="no",
        logging_steps=50,
        disable_tqdm=True,
        report_to="none",
    )
    defaults.update(kwargs)
    return VideoSCSTConfig(**defaults)


def run_seed(seed: int, args, dataset, tokenizer, workdir: Path) -> dict:
    train, validation, test = dataset["train"], dataset["validation"], dataset["test"]
    reward = get_cider_d_reward(train["captions"])
    torch.manual_seed(seed)
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=8, image_size=64, frame_differences=args.frame_differences)
    model = create_tiny_video_blip2(tokenizer, patch_size=args.patch_size, num_frames=processor.num_model_frames(8))
    collator = VideoCaptionCollator(processor, num_frames=8)

    # XE until validation CIDEr-D plateaus (counted in steps, evaluated every eval_steps).
    plateau = PlateauStop(args.patience, args.min_delta)
    xe_args = config(
        str(workdir / "xe"), seed=seed, learning_rate=args.xe_lr, max_steps=args.xe_max_steps,
        xe_warmup_steps=args.xe_max_steps, eval_strategy="steps", eval_steps=args.eval_steps,
    )
    trainer = VideoSCSTTrainer(model, reward, xe_args, train, validation, processor, collator, callbacks=[plateau])
    start = time.perf_counter()
    trainer.train()
    xe_seconds = time.perf_counter() - start
    xe_steps = trainer.state.global_step
    checkpoint = workdir / "xe_checkpoint"
    trainer.save_model(str(checkpoint))
    results = {"seed": seed, "xe_steps": xe_steps, "xe_seconds": xe_seconds, "xe_curve": plateau.history}
    results["xe"] = test_scores(model, processor, test, collator)

    # (a) SCST from the XE checkpoint.
    model = VideoBlip2ForConditionalGeneration.from_pretrained(checkpoint)
    scst_args = config(
        str(workdir / "scst"), seed=seed, learning_rate=args.scst_lr, max_steps=args.scst_steps,
        num_generations=args.num_generations,
    )
    trainer = VideoSCSTTrainer(model, reward, scst_args, train, None, processor, collator)
    start = time.perf_counter()
    trainer.train()
    results["scst_seconds"] = time.perf_counter() - start
    results["scst_train_reward"] = [e["reward"] for e in trainer.state.log_history if "reward" in e]
    results["scst"] = test_scores(model, processor, test, collator)

    # (b) Control: XE continued from the same checkpoint for the same wall time, at the XE learning rate.
    model = VideoBlip2ForConditionalGeneration.from_pretrained(checkpoint)
    control_args = config(
        str(workdir / "control"), seed=seed, learning_rate=args.xe_lr, max_steps=10**6, xe_warmup_steps=10**6,
    )
    trainer = VideoSCSTTrainer(
        model, reward, control_args, train, None, processor, collator, callbacks=[WallClockStop(results["scst_seconds"])]
    )
    start = time.perf_counter()
    trainer.train()
    results["control_seconds"] = time.perf_counter() - start
    results["control_steps"] = trainer.state.global_step
    results["control"] = test_scores(model, processor, test, collator)
    return results


def summarise(runs: list[dict]) -> dict:
    def stats(values):
        return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}

    summary = {}
    for arm in ("xe", "scst", "control"):
        summary[arm] = {k: stats([r[arm][k] for r in runs]) for k in ("cider_d", "bleu_4", "names_color", "names_shape", "names_action")}
    for other in ("xe", "control"):
        diffs = [r["scst"]["cider_d"] - r[other]["cider_d"] for r in runs]
        spread = max(summary["scst"]["cider_d"]["std"], summary[other]["cider_d"]["std"])
        summary[f"scst_minus_{other}"] = {
            "per_seed": diffs,
            **stats(diffs),
            "beats_spread": min(diffs) > spread,
        }
    return summary


def markdown(runs: list[dict], summary: dict, args) -> str:
    lines = [
        "# SCST vs XE on the shapes world",
        "",
        f"Shapes world: {args.num_train} training clips, 100 validation, {args.num_test} test; tiny VideoBlip2 "
        f"(patch {args.patch_size}, temporal embedding, frame differences: {args.frame_differences}). "
        f"Seeds {args.seeds}; XE lr {args.xe_lr} until validation CIDEr-D stops improving by {args.min_delta} for "
        f"{args.patience} evaluations (every {args.eval_steps} steps, at most {args.xe_max_steps}); SCST lr "
        f"{args.scst_lr}, {args.scst_steps} steps, K={args.num_generations}, greedy baseline; control = XE continued "
        "for SCST's wall time at the XE lr. Test split, greedy decoding.",
        "",
        "| arm | CIDEr-D | BLEU-4 | names colour | names shape | names action |",
        "|---|---|---|---|---|---|",
    ]
    for arm, label in (("xe", "XE checkpoint"), ("scst", "SCST"), ("control", "XE continued (control)")):
        s = summary[arm]
        lines.append(
            f"| {label} | {s['cider_d']['mean']:.3f} ± {s['cider_d']['std']:.3f} | {s['bleu_4']['mean']:.3f} ± "
            f"{s['bleu_4']['std']:.3f} | {s['names_color']['mean']:.2f} | {s['names_shape']['mean']:.2f} | "
            f"{s['names_action']['mean']:.2f} |"
        )
    lines += ["", "| seed | XE steps | XE CIDEr-D | SCST | control (steps) | SCST − XE | SCST − control |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(
            f"| {r['seed']} | {r['xe_steps']} | {r['xe']['cider_d']:.3f} | {r['scst']['cider_d']:.3f} | "
            f"{r['control']['cider_d']:.3f} ({r['control_steps']}) | {r['scst']['cider_d'] - r['xe']['cider_d']:+.3f} | "
            f"{r['scst']['cider_d'] - r['control']['cider_d']:+.3f} |"
        )
    for other in ("xe", "control"):
        d = summary[f"scst_minus_{other}"]
        lines.append("")
        lines.append(
            f"SCST − {other}: {d['mean']:+.3f} ± {d['std']:.3f} (paired); every seed's gain exceeds the larger "
            f"seed-to-seed std: **{d['beats_spread']}**."
        )
    lines += ["", "Example captions (seed 0, test):", ""]
    for arm in ("xe", "scst", "control"):
        lines.append(f"- {arm}: " + "; ".join(e["caption"] for e in runs[0][arm]["examples"]))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data-dir", default="data/shapes_benchmark")
    parser.add_argument("--num-train", type=int, default=3000)
    parser.add_argument("--num-test", type=int, default=300)
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument("--frame-differences", choices=["none", "replace", "append"], default="append")
    parser.add_argument("--xe-lr", type=float, default=1e-3)
    parser.add_argument("--xe-max-steps", type=int, default=4000)
    parser.add_argument("--eval-steps", type=int, default=250)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--min-delta", type=float, default=0.02)
    parser.add_argument("--scst-lr", type=float, default=5e-5)
    parser.add_argument("--scst-steps", type=int, default=400)
    parser.add_argument("--num-generations", type=int, default=5)
    parser.add_argument("--output", default="benchmarks/results/scst_vs_xe")
    parser.add_argument("--workdir", default="outputs/benchmark_scst_vs_xe")
    args = parser.parse_args()

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))  # one per process when several run
    world = ShapesWorldConfig(num_train=args.num_train, num_validation=100, num_test=args.num_test, seed=0)
    dataset = load_shapes_dataset(generate_shapes_dataset(args.data_dir, world))
    tokenizer = build_shapes_tokenizer()
    runs = []
    for seed in args.seeds:
        run = run_seed(seed, args, dataset, tokenizer, Path(args.workdir) / f"seed{seed}")
        runs.append(run)
        print(json.dumps({k: run[k] for k in ("seed", "xe_steps", "scst_seconds", "control_steps")}), flush=True)
        for arm in ("xe", "scst", "control"):
            print(arm, {k: round(v, 4) for k, v in run[arm].items() if isinstance(v, float)}, flush=True)
    summary = summarise(runs)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output + ".json").write_text(json.dumps({"args": vars(args), "runs": runs, "summary": summary}, indent=2))
    Path(args.output + ".md").write_text(markdown(runs, summary, args))
    print(markdown(runs, summary, args))


if __name__ == "__main__":
    main()

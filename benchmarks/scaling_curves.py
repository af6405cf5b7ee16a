"""How the SCST step and CIDEr-D grow with the work they are given, on CPU.

SCST step (VideoSCSTTrainer on the tiny BLIP-2 video captioner, random weights, every parameter trained, CIDEr-D
reward in SCST mode): its phase split against K (samples per video), T (frames), B (videos per step) and L (caption
length), one knob at a time from B = 32, T = 8, K = 5, L = 16. Every caption is forced to exactly L tokens
(``min_new_tokens = max_new_tokens = L`` in both generation configs) so that only the knob moves the work.

CIDEr-D (`hf_vidcap.metrics.CiderD`, MSR-VTT-like captions of `reward_speed.py`): time against the number of
candidates (10^2 to 10^5, 10 references each) and against references per video (1 to 40, 1,000 candidates), in
corpus mode (document frequencies from the references scored) and in SCST mode (fixed document frequencies built
once, as the reward does); pycocoevalcap's Cider on the smaller sizes for scale.

Each curve's growth is summarised by its log-log slope between the first and last points (1 = linear, below 1 =
fixed costs amortised, above 1 = worse than linear); the script names it and the README says why.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/scaling_curves.py            # about 10 minutes on 2 cores

Writes benchmarks/results/scaling_curves.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from reward_speed import msrvtt_like_corpus  # noqa: E402

from hf_vidcap import VideoBlip2Processor  # noqa: E402
from hf_vidcap.captioning import can_merge_greedy_and_samples  # noqa: E402
from hf_vidcap.data import (  # noqa: E402
    ShapesWorldConfig,
    build_shapes_tokenizer,
    generate_shapes_dataset,
    load_shapes_dataset,
)
from hf_vidcap.metrics import CiderD  # noqa: E402
from hf_vidcap.models import create_tiny_video_blip2  # noqa: E402
from hf_vidcap.rewards import get_cider_d_reward  # noqa: E402
from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer  # noqa: E402

PHASES = ("encode", "generate", "reward", "forward", "backward", "optimizer")
DEFAULTS = {"num_generations": 5, "num_frames": 8, "batch_size": 32, "length": 16}
SWEEPS = {
    "num_generations": [1, 2, 4, 8, 16],
    "num_frames": [1, 2, 4, 8, 16, 32],
    "batch_size": [8, 16, 32, 64, 128],
    "length": [4, 8, 16, 32],
}
LABELS = {"num_generations": "K (samples per video)", "num_frames": "T (frames)", "batch_size": "B (videos per step)", "length": "L (caption tokens)"}


def growth(xs, ys) -> dict:
    """Log-log slope between the first and the last point, its name, and the steepest slope between neighbours
    (fixed costs hide a late rise from the end-to-end slope)."""
    slope = math.log(ys[-1] / ys[0]) / math.log(xs[-1] / xs[0])
    name = "sublinear" if slope < 0.85 else "linear" if slope <= 1.15 else "superlinear"
    local = [math.log(b / a) / math.log(x1 / x0) for x0, x1, a, b in zip(xs, xs[1:], ys, ys[1:])]
    steepest = max(range(len(local)), key=local.__getitem__)
    return {"slope": slope, "growth": name, "steepest": local[steepest], "steepest_between": [xs[steepest], xs[steepest + 1]]}


def step_point(model, processor, dataset, reward, workdir: Path, steps: int, **knobs) -> dict:
    settings = {**DEFAULTS, **knobs}
    k, length = settings["num_generations"], settings["length"]
    args = VideoSCSTConfig(
        output_dir=str(workdir), use_cpu=True, per_device_train_batch_size=settings["batch_size"], num_generations=k,
        max_completion_length=length, save_strategy="no", logging_steps=1000, disable_tqdm=True, report_to="none",
        lr_scheduler_type="constant", learning_rate=1e-5, seed=0, max_steps=steps + 1, num_frames=settings["num_frames"],
        training_curves=False,
    )
    trainer = VideoSCSTTrainer(model, reward, args, train_dataset=dataset, processing_class=processor)
    # Every caption exactly L tokens, so that the knob alone moves the work (both configs alike: still one pass).
    trainer.greedy_config.min_new_tokens = length
    trainer.rollout_config.min_new_tokens = length
    assert trainer._merge_greedy == can_merge_greedy_and_samples(trainer.greedy_config, trainer.rollout_config)
    trainer.train()
    measured = trainer.step_timings[1:]  # the first step pays one-off costs (allocations, caches)
    point = {phase: 1e3 * statistics.median(t.get(phase, 0.0) for t in measured) for phase in (*PHASES, "step")}
    point["other"] = 1e3 * statistics.median(t["step"] - sum(t.get(p, 0.0) for p in PHASES) for t in measured)
    point["captions_per_s"] = settings["batch_size"] * k / point["step"] * 1e3
    return point


def scst_curves(cli, workdir: Path) -> dict:
    tokenizer = build_shapes_tokenizer()
    data_dir = generate_shapes_dataset(
        workdir / "shapes", ShapesWorldConfig(num_train=128, num_validation=4, num_test=4, num_frames=32, seed=0)
    )
    dataset = load_shapes_dataset(data_dir)["train"]
    torch.manual_seed(0)
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=8, image_size=64)
    model = create_tiny_video_blip2(tokenizer, num_frames=32)
    reward = get_cider_d_reward(dataset["captions"])
    curves = {}
    for knob, values in SWEEPS.items():
        points = []
        for value in values:
            points.append({knob: value, **step_point(model, processor, dataset, reward, workdir / f"{knob}{value}", cli.steps, **{knob: value})})
            print(f"[scst] {knob}={value}: step {points[-1]['step']:.1f} ms", flush=True)
        xs = [p[knob] for p in points]
        curves[knob] = {
            "points": points,
            "step": growth(xs, [p["step"] for p in points]),
            **{phase: growth(xs, [max(p[phase], 1e-3) for p in points]) for phase in ("encode", "generate", "forward", "backward", "reward")},
        }
    return curves


def _time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cider_curves(cli) -> dict:
    from pycocoevalcap.cider.cider import Cider

    def measure(candidates, references, with_pycoco: bool) -> dict:
        point = {"corpus_s": _time(lambda: CiderD().compute_score(candidates, references), cli.repeats)}
        scorer = CiderD.from_corpus(references)  # built once, as the SCST reward does
        point["scst_s"] = _time(lambda: scorer.compute_score(candidates, references), cli.repeats)
        if with_pycoco:
            gts = {i: refs for i, refs in enumerate(references)}
            res = {i: [c] for i, c in enumerate(candidates)}
            point["pycocoevalcap_s"] = _time(lambda: Cider().compute_score(gts, res), 1)
        return point

    out = {}
    candidates, references = msrvtt_like_corpus(max(cli.candidates), 10, seed=0)
    points = []
    for n in cli.candidates:
        points.append({"candidates": n, "references_per_video": 10, **measure(candidates[:n], references[:n], n <= cli.pycoco_max)})
        print(f"[cider] {n} candidates: corpus {points[-1]['corpus_s'] * 1e3:.1f} ms", flush=True)
    xs = [p["candidates"] for p in points]
    out["candidates"] = {"points": points, **{m: growth(xs, [p[m] for p in points]) for m in ("corpus_s", "scst_s")}}
    candidates, references = msrvtt_like_corpus(1000, max(cli.references), seed=1)
    points = []
    for r in cli.references:
        points.append({"candidates": 1000, "references_per_video": r, **measure(candidates, [refs[:r] for refs in references], True)})
        print(f"[cider] {r} references: corpus {points[-1]['corpus_s'] * 1e3:.1f} ms", flush=True)
    xs = [p["references_per_video"] for p in points]
    out["references_per_video"] = {"points": points, **{m: growth(xs, [p[m] for p in points]) for m in ("corpus_s", "scst_s")}}
    return out


def refresh_growth(results: dict) -> None:
    """Recompute every growth summary from the stored points (so `--skip scst cider` rebuilds the outputs)."""
    for knob, curve in results["scst"].items():
        xs = [p[knob] for p in curve["points"]]
        curve["step"] = growth(xs, [p["step"] for p in curve["points"]])
        for phase in ("encode", "generate", "forward", "backward", "reward"):
            curve[phase] = growth(xs, [max(p[phase], 1e-3) for p in curve["points"]])
    for axis, curve in results["cider"].items():
        xs = [p[axis] for p in curve["points"]]
        for key in ("corpus_s", "scst_s"):
            curve[key] = growth(xs, [p[key] for p in curve["points"]])


def to_markdown(results: dict) -> str:
    lines = [
        "# Scaling curves on CPU",
        "",
        f"{results['threads']} threads, torch {results['torch']}. `python benchmarks/scaling_curves.py`. Growth: log-log "
        "slope between the first and last points (1 = linear).",
        "",
        "## SCST step (tiny BLIP-2 video, every parameter trained; from B = 32, T = 8, K = 5, L = 16, one knob at a time)",
        "",
    ]
    for knob, curve in results["scst"].items():
        lines += [
            f"### {LABELS[knob]}",
            "",
            "| " + knob + " | encode | generate | reward | forward | backward | optimizer | other | step (ms) | captions/s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for p in curve["points"]:
            lines.append(
                f"| {p[knob]} | " + " | ".join(f"{p[phase]:.1f}" for phase in (*PHASES, "other", "step")) + f" | {p['captions_per_s']:.0f} |"
            )
        shown = ", ".join(f"{phase} {curve[phase]['slope']:.2f}" for phase in ("encode", "generate", "forward", "backward", "reward"))
        step = curve["step"]
        lines += [
            "",
            f"Step: slope {step['slope']:.2f} ({step['growth']}; steepest {step['steepest']:.2f} between "
            f"{step['steepest_between'][0]} and {step['steepest_between'][1]}); phases: {shown}.",
            "",
        ]
    lines += ["## CIDEr-D", ""]
    for axis, curve in results["cider"].items():
        lines += [
            f"### Against {axis.replace('_', ' ')}",
            "",
            "| candidates | references per video | corpus mode (ms) | SCST mode (ms) | pycocoevalcap (ms) |",
            "|---|---|---|---|---|",
        ]
        for p in curve["points"]:
            pycoco = f"{p['pycocoevalcap_s'] * 1e3:.0f}" if "pycocoevalcap_s" in p else ""
            lines.append(f"| {p['candidates']} | {p['references_per_video']} | {p['corpus_s'] * 1e3:.1f} | {p['scst_s'] * 1e3:.1f} | {pycoco} |")
        shown = [
            f"{name}: slope {curve[key]['slope']:.2f} ({curve[key]['growth']}; steepest {curve[key]['steepest']:.2f} between "
            f"{curve[key]['steepest_between'][0]} and {curve[key]['steepest_between'][1]})"
            for name, key in (("Corpus mode", "corpus_s"), ("SCST mode", "scst_s"))
        ]
        lines += ["", "; ".join(shown) + ".", ""]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    colours = dict(zip((*PHASES, "other"), plt.get_cmap("tab10").colors))
    for ax, (knob, curve) in zip(axes.flat[:4], results["scst"].items()):
        xs = [p[knob] for p in curve["points"]]
        bottom = [0.0] * len(xs)
        for phase in (*PHASES, "other"):
            ys = [p[phase] for p in curve["points"]]
            ax.fill_between(xs, bottom, [b + y for b, y in zip(bottom, ys)], step=None, alpha=0.8, color=colours[phase], label=phase)
            bottom = [b + y for b, y in zip(bottom, ys)]
        ax.set_xscale("log", base=2)
        ax.set_xlabel(LABELS[knob])
        ax.set_ylabel("ms per SCST step")
        ax.set_title(f"step slope {curve['step']['slope']:.2f}", fontsize=9)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    for ax, (axis, curve) in zip(axes.flat[4:], results["cider"].items()):
        xs = [p[axis] for p in curve["points"]]
        ax.plot(xs, [p["corpus_s"] * 1e3 for p in curve["points"]], "o-", label=f"corpus mode (slope {curve['corpus_s']['slope']:.2f})")
        ax.plot(xs, [p["scst_s"] * 1e3 for p in curve["points"]], "s-", label=f"SCST mode (slope {curve['scst_s']['slope']:.2f})")
        shown = [(x, p["pycocoevalcap_s"] * 1e3) for x, p in zip(xs, curve["points"]) if "pycocoevalcap_s" in p]
        if shown:
            ax.plot(*zip(*shown), "^--", color="grey", label="pycocoevalcap")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(axis.replace("_", " "))
        ax.set_ylabel("ms (CIDEr-D)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    figure.suptitle("SCST step split and CIDEr-D time against the work given (CPU)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="measured SCST steps per point (after one warm-up step)")
    parser.add_argument("--repeats", type=int, default=3, help="CIDEr-D calls per point (median)")
    parser.add_argument("--candidates", type=int, nargs="+", default=[100, 300, 1000, 3000, 10000, 30000, 100000])
    parser.add_argument("--references", type=int, nargs="+", default=[1, 2, 5, 10, 20, 40])
    parser.add_argument("--pycoco_max", type=int, default=10000, help="largest candidate count pycocoevalcap is timed on")
    parser.add_argument("--skip", nargs="*", default=[], choices=["scst", "cider"])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "scaling_curves"))
    cli = parser.parse_args()
    results = {"threads": torch.get_num_threads(), "torch": torch.__version__}
    previous = Path(cli.out + ".json")
    old = json.loads(previous.read_text()) if previous.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        results["scst"] = old.get("scst") if "scst" in cli.skip else scst_curves(cli, Path(tmp))
    results["cider"] = old.get("cider") if "cider" in cli.skip else cider_curves(cli)
    refresh_growth(results)
    Path(cli.out).parent.mkdir(parents=True, exist_ok=True)
    Path(cli.out + ".json").write_text(json.dumps(results, indent=2) + "\n")
    Path(cli.out + ".md").write_text(to_markdown(results))
    plot(results, Path(cli.out + ".png"))
    print(to_markdown(results))


if __name__ == "__main__":
    main()

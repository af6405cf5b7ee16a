"""The trainer's baselines and objectives on the shapes world, from the same XE checkpoints.

For each seed, start from the XE checkpoint that `benchmarks/scst_vs_xe.py` saved (run that first; its
`--workdir`), and train each variant below for the same number of steps with the CIDEr-D reward (SCST-mode
document frequencies), then score the test split with greedy decoding:

- greedy: SCST, K = 5 samples, greedy baseline (Rennie et al.);
- leave_one_out: K = 5 samples, mean of the other 4 ("new self-critical" / RLOO);
- beam_mean: the top 5 of a 5-beam search, baseline = mean of the beams (the BLIP-2 video captioning paper);
- beam_vs_greedy: the top beam of 5 against the greedy caption (ReGen eq. 3);
- exploration: K = 5 samples, greedy baseline for CIDEr-D, alpha = 0.75 with the BLEU-3 + BLEU-4 diversity term
  and its own baseline (sequence-level exploration).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/scst_baselines.py --seeds 0 1     # about 35 minutes

Writes benchmarks/results/scst_baselines.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))

from scst_vs_xe import config, test_scores  # noqa: E402

from hf_vidcap import VideoBlip2ForConditionalGeneration, VideoBlip2Processor  # noqa: E402
from hf_vidcap.captioning import generate_captions, make_generation_config  # noqa: E402
from hf_vidcap.data import VideoCaptionCollator, load_shapes_dataset  # noqa: E402
from hf_vidcap.evaluation import generate_for_dataset  # noqa: E402
from hf_vidcap.metrics import sentence_bleu  # noqa: E402
from hf_vidcap.metrics.text import normalize_caption  # noqa: E402
from hf_vidcap.rewards import get_cider_d_reward  # noqa: E402
from hf_vidcap.trainer import VideoSCSTTrainer  # noqa: E402

VARIANTS = {
    "greedy": dict(),
    "leave_one_out": dict(baseline="leave_one_out"),
    "beam_mean": dict(rollout="beam", baseline="beam_mean"),
    "beam_vs_greedy": dict(rollout="beam", baseline="beam_vs_greedy", num_generations=1, num_beams=5),
    "exploration": dict(exploration_alpha=0.75),
}


@torch.no_grad()
def sampled_diversity(model, processor, dataset, collator, k: int = 5, seed: int = 0) -> dict[str, float]:
    """Diversity of K sampled captions per test video (temperature 1), the sequence-level exploration paper's
    kind of measure: distinct captions per video (of K) and mBLEU-4 (each sample's smoothed BLEU-4 against the
    other K - 1, averaged; lower = more diverse)."""
    torch.manual_seed(seed)
    config = make_generation_config(processor, 16, do_sample=True, num_return_sequences=k)
    distinct, mbleu = [], []
    for start in range(0, len(dataset), 100):
        batch = collator([dataset[i] for i in range(start, min(start + 100, len(dataset)))])
        ids, _ = generate_captions(model, processor, model.get_video_embeds(batch["pixel_values"]), config)
        texts = [normalize_caption(t) for t in processor.decode_captions(ids)]
        for v in range(0, len(texts), k):
            group = texts[v : v + k]
            distinct.append(len(set(group)) / k)
            mbleu.append(statistics.mean(sentence_bleu(group[j], group[:j] + group[j + 1 :])[3] for j in range(k)))
    return {"sampled_distinct": statistics.mean(distinct), "sampled_mbleu_4": statistics.mean(mbleu)}


def distinct_captions(model, processor, dataset, collator) -> float:
    """Share of distinct captions among the test captions (greedy decoding): a coarse diversity measure."""
    captions, _ = generate_for_dataset(model, processor, dataset, collator, batch_size=100, show_progress=False)
    return len({normalize_caption(c) for c in captions}) / len(captions)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--data-dir", default="data/shapes_benchmark")
    parser.add_argument("--xe-workdir", default="outputs/benchmark_scst_vs_xe", help="scst_vs_xe.py's --workdir")
    parser.add_argument("--scst-lr", type=float, default=5e-5)
    parser.add_argument("--scst-steps", type=int, default=400)
    parser.add_argument("--num-generations", type=int, default=5)
    parser.add_argument("--output", default="benchmarks/results/scst_baselines")
    parser.add_argument("--workdir", default="outputs/benchmark_scst_baselines")
    args = parser.parse_args()

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))  # one per process when several run
    dataset = load_shapes_dataset(args.data_dir)
    train, test = dataset["train"], dataset["test"]
    reward = get_cider_d_reward(train["captions"])
    runs = []
    for seed in args.seeds:
        checkpoint = Path(args.xe_workdir) / f"seed{seed}" / "xe_checkpoint"
        if not (checkpoint / "model.safetensors").exists():
            raise SystemExit(f"no XE checkpoint at {checkpoint}: run benchmarks/scst_vs_xe.py --seeds {seed} first.")
        processor = VideoBlip2Processor.from_pretrained(checkpoint)
        collator = VideoCaptionCollator(processor, num_frames=8)
        # Each arm's scores are stored as soon as they exist (a rerun skips them): <output>_runs/seed<s>/<arm>.json.
        stored = Path(args.output + "_runs") / f"seed{seed}"
        stored.mkdir(parents=True, exist_ok=True)
        run = {"seed": seed}
        if (stored / "xe.json").exists():
            run["xe"] = json.loads((stored / "xe.json").read_text())
        else:
            model = VideoBlip2ForConditionalGeneration.from_pretrained(checkpoint)
            run["xe"] = test_scores(model, processor, test, collator)
            run["xe"]["distinct"] = distinct_captions(model, processor, test, collator)
            run["xe"].update(sampled_diversity(model, processor, test, collator))
            (stored / "xe.json").write_text(json.dumps(run["xe"], indent=2) + "\n")
        for name in args.variants:
            if (stored / f"{name}.json").exists():
                run[name] = json.loads((stored / f"{name}.json").read_text())
                continue
            model = VideoBlip2ForConditionalGeneration.from_pretrained(checkpoint)
            kwargs = {"num_generations": args.num_generations, **VARIANTS[name]}
            scst_args = config(
                str(Path(args.workdir) / f"seed{seed}" / name), seed=seed, learning_rate=args.scst_lr,
                max_steps=args.scst_steps, **kwargs,
            )
            trainer = VideoSCSTTrainer(model, reward, scst_args, train, None, processor, collator)
            start = time.perf_counter()
            trainer.train()
            scores = test_scores(model, processor, test, collator)
            scores["distinct"] = distinct_captions(model, processor, test, collator)
            scores.update(sampled_diversity(model, processor, test, collator))
            scores["seconds"] = time.perf_counter() - start
            run[name] = scores
            (stored / f"{name}.json").write_text(json.dumps(scores, indent=2) + "\n")
            print(seed, name, {k: round(v, 4) for k, v in scores.items() if isinstance(v, float)}, flush=True)
        runs.append(run)

    arms = ["xe", *args.variants]
    summary = {}
    for arm in arms:
        summary[arm] = {}
        for key in ("cider_d", "bleu_4", "names_shape", "names_action", "distinct", "sampled_distinct", "sampled_mbleu_4"):
            values = [r[arm][key] for r in runs]
            summary[arm][key] = {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}
        summary[arm]["gain_over_xe"] = [r[arm]["cider_d"] - r["xe"]["cider_d"] for r in runs]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output + ".json").write_text(json.dumps({"args": vars(args), "runs": runs, "summary": summary}, indent=2))
    lines = [
        "# Baselines and objectives on the shapes world",
        "",
        f"From each seed's XE checkpoint (benchmarks/scst_vs_xe.py), {args.scst_steps} steps at lr {args.scst_lr}, "
        f"CIDEr-D reward, 32 videos per step; seeds {args.seeds}; test split ({len(test)} clips), greedy decoding. "
        "Mean ± std over seeds; gain = CIDEr-D minus the XE checkpoint's, per seed.",
        "",
        "| variant | CIDEr-D | gain per seed | BLEU-4 | names shape | names action | distinct captions | "
        "5 samples: distinct | 5 samples: mBLEU-4 | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm in arms:
        s = summary[arm]
        seconds = statistics.mean(r[arm]["seconds"] for r in runs) if arm != "xe" else float("nan")
        lines.append(
            f"| {arm} | {s['cider_d']['mean']:.3f} ± {s['cider_d']['std']:.3f} | "
            f"{', '.join(f'{g:+.3f}' for g in s['gain_over_xe'])} | {s['bleu_4']['mean']:.3f} | "
            f"{s['names_shape']['mean']:.2f} | {s['names_action']['mean']:.2f} | {s['distinct']['mean']:.2f} | "
            f"{s['sampled_distinct']['mean']:.2f} | {s['sampled_mbleu_4']['mean']:.3f} | "
            f"{'' if arm == 'xe' else f'{seconds:.0f}'} |"
        )
    Path(args.output + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

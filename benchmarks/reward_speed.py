"""Reward speed, measured side by side in one run.

1. CIDEr-D, corpus mode: `hf_vidcap.metrics.CiderD` vs pycocoevalcap's `Cider` on 5,000 candidates x 20 references
   (goal: at least 25x faster at the median, scores equal to 1e-9). Each repeat scores the corpus with both, interleaved, on a fresh
   scorer (the vocabulary is built inside the timed call, as pycocoevalcap builds its own).
2. CIDEr-D, SCST mode: 384 candidates (64 videos x 6 captions) against document frequencies fixed from the training
   references (goal: at most 10 ms on 2 cores), with each reference vector recomputed on every call and kept per
   video (the default), and the SCST reward on the same batches (goal: within 1.3x of the bare scorer).
3. CIDEr-D as a whole process: a fresh interpreter imports the scorer, reads a 5,000 x 20 JSON file and scores it,
   for hf_vidcap and pycocoevalcap in turn (wall time and peak resident memory; goal: at least 5x, less memory).
4. The masked-LM grammar reward (ReGen eq. 5): captions/s with all masked copies scored in chunked batched forwards
   vs one forward per masked token, on the same captions, with the same (randomly initialised, BERT-base-sized
   unless --mlm-size tiny) model.

The captions follow MSR-VTT's statistics (template sentences over Zipf-distributed vocabularies, about 9 words,
20 references per video sharing a scene); the corpus statistics are written with the results.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/reward_speed.py

Writes benchmarks/results/reward_speed.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from pycocoevalcap.cider.cider import Cider

from hf_vidcap.metrics import CiderD

TEMPLATES = [
    "a {a} {s} is {v} a {o} in the {p}",
    "a {s} in a {a} shirt is {v} about the {o}",
    "{s} is {v} the {o} while people watch",
    "there is a {s} {v} a {a} {o} on the {p}",
    "a {s} and a {s2} are {v} {o} together",
    "a clip shows a {s} {v} in a {p}",
    "someone is {v} a {o}",
    "a {s} is talking to a {s2} about a {o}",
    "the {a} {s} {v} the {o} very quickly",
    "in the {p} a {s} is {v}",
    "a {s} is {v}",
    "a {a} {s} {v} a {o} and then the {s2} {v} it",
]


def msrvtt_like_corpus(num_videos: int, num_refs: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """Candidates and references: each video is a scene (subject, verb, object, ...); its references are
    template sentences about that scene, a third of them naming another subject; its candidate is one such
    sentence, half the time with a wrong object."""
    rng = np.random.default_rng(seed)

    def vocabulary(prefix: str, size: int):
        weights = 1.0 / np.arange(1, size + 1) ** 1.1
        return np.array([f"{prefix}{i}" for i in range(size)], dtype=object), weights / weights.sum()

    pools = {"s": vocabulary("subj", 1500), "v": vocabulary("verb", 2500), "o": vocabulary("obj", 6000),
             "a": vocabulary("adj", 1500), "p": vocabulary("place", 1200)}
    pools["s2"] = pools["s"]

    def draw(slot: str):
        words, weights = pools[slot]
        return rng.choice(words, p=weights)

    def caption(scene: dict) -> str:
        template = TEMPLATES[rng.integers(len(TEMPLATES))]
        filled = {k: draw(k) if k in ("s", "s2") and rng.random() < 1 / 3 else v for k, v in scene.items()}
        return template.format(**filled)

    candidates, references = [], []
    for _ in range(num_videos):
        scene = {k: draw(k) for k in pools}
        references.append([caption(scene) for _ in range(num_refs)])
        candidates.append(caption(dict(scene, o=draw("o")) if rng.random() < 0.5 else scene))
    return candidates, references


def corpus_statistics(references: list[list[str]]) -> dict:
    flat = [r for refs in references for r in refs]
    tokens = [r.split() for r in flat]
    distinct = {n: len({tuple(t[i : i + n]) for t in tokens for i in range(len(t) - n + 1)}) for n in range(1, 5)}
    return {
        "references": len(flat),
        "mean_words": round(float(np.mean([len(t) for t in tokens])), 2),
        "vocabulary": distinct[1],
        "distinct_ngrams": distinct,
        "distinct_sentences": len(set(flat)),
    }


def bench_cider_corpus(candidates, references, repeats: int) -> dict:
    gts = {i: refs for i, refs in enumerate(references)}
    res = {i: [c] for i, c in enumerate(candidates)}
    ours_times, theirs_times = [], []
    max_diff = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        expected_mean, expected = Cider().compute_score(gts, res)
        theirs_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        mean, scores = CiderD().compute_score(candidates, references)
        ours_times.append(time.perf_counter() - start)
        max_diff = max(max_diff, float(np.abs(np.asarray(expected) - scores).max()), abs(mean - expected_mean))
    ratios = [t / o for t, o in zip(theirs_times, ours_times)]
    return {
        "pycocoevalcap_s": statistics.median(theirs_times),
        "hf_vidcap_s": statistics.median(ours_times),
        "speedup_median_of_ratios": statistics.median(ratios),
        "speedup_min": min(ratios),
        "max_abs_score_difference": max_diff,
        "corpus_cider_d": expected_mean,
        "repeats": repeats,
    }


_WHOLE_PROCESS = {
    "hf_vidcap": (
        "import json, sys\n"
        "from hf_vidcap.metrics import CiderD\n"
        "data = json.load(open(sys.argv[1]))\n"
        "score = CiderD().compute_score(data['candidates'], data['references'])[0]\n"
        "peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM')][0].split()[1]\n"
        "print(json.dumps({'score': score, 'peak_kb': int(peak), "
        "'torch_imported': 'torch' in sys.modules}))"
    ),
    "pycocoevalcap": (
        "import json, sys\n"
        "from pycocoevalcap.cider.cider import Cider\n"
        "data = json.load(open(sys.argv[1]))\n"
        "gts = {i: refs for i, refs in enumerate(data['references'])}\n"
        "res = {i: [c] for i, c in enumerate(data['candidates'])}\n"
        "score = Cider().compute_score(gts, res)[0]\n"
        "peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM')][0].split()[1]\n"
        "print(json.dumps({'score': score, 'peak_kb': int(peak), "
        "'torch_imported': 'torch' in sys.modules}))"
    ),
}


def bench_whole_process(candidates, references, repeats: int, folder: Path) -> dict:
    """Scoring a 5,000 x 20 JSON file as a user's script would, each tool in its own fresh interpreter (import,
    read, score), interleaved: wall time and the process's peak resident memory (VmHWM, which exec resets, unlike
    getrusage's maxrss that a child inherits from its parent)."""
    import subprocess
    import sys

    path = folder / "cider_corpus.json"
    path.write_text(json.dumps({"candidates": candidates, "references": references}))
    runs = {name: [] for name in _WHOLE_PROCESS}
    for _ in range(repeats):
        for name, code in _WHOLE_PROCESS.items():
            start = time.perf_counter()
            process = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
            report = json.loads(process.stdout.strip().splitlines()[-1])
            runs[name].append({**report, "seconds": time.perf_counter() - start})
    path.unlink()
    ours, theirs = runs["hf_vidcap"], runs["pycocoevalcap"]
    return {
        "hf_vidcap_s": statistics.median(r["seconds"] for r in ours),
        "pycocoevalcap_s": statistics.median(r["seconds"] for r in theirs),
        "speedup_median_of_ratios": statistics.median(t["seconds"] / o["seconds"] for t, o in zip(theirs, ours)),
        "hf_vidcap_peak_mb": statistics.median(r["peak_kb"] for r in ours) / 1024,
        "pycocoevalcap_peak_mb": statistics.median(r["peak_kb"] for r in theirs) / 1024,
        "hf_vidcap_imports_torch": any(r["torch_imported"] for r in ours),
        "max_abs_score_difference": max(abs(o["score"] - t["score"]) for o, t in zip(ours, theirs)),
        "repeats": repeats,
    }


def bench_cider_scst(candidates, references, repeats: int, videos: int = 64, samples: int = 6) -> dict:
    """Three scorers on the same batches, interleaved call by call: the bare scorer recomputing every reference
    vector (`reference_cache_entries=0`), the bare scorer keeping them per video (the default), and the SCST
    reward (`get_cider_d_reward`: normalisation, cached scorer, TRL contract); the reward's overhead is its ratio
    to the caching scorer."""
    from hf_vidcap.rewards import get_cider_d_reward

    recomputing = CiderD.from_corpus(references, reference_cache_entries=0)
    scorer = CiderD.from_corpus(references)
    reward = get_cider_d_reward(references)
    times = {"recompute": [], "scorer": [], "reward": []}
    for r in range(repeats + 1):
        # A different batch of videos each call (as in training); the K samples of a video share its references.
        # Over the repeats the batches cycle through the videos, so the per-video caches are warm after one pass
        # of the 5,000 videos, as in the epochs of a training run.
        first = (r * videos) % len(references)
        batch = [candidates[(first + v + 7 * k) % len(candidates)] for v in range(videos) for k in range(samples)]
        batch_refs = [references[(first + v) % len(references)] for v in range(videos) for _ in range(samples)]
        ticks = [time.perf_counter()]
        expected = recomputing.compute_score(batch, batch_refs)[1]
        ticks.append(time.perf_counter())
        bare = scorer.compute_score(batch, batch_refs)[1]
        ticks.append(time.perf_counter())
        rewarded = reward(batch, captions=batch_refs)
        ticks.append(time.perf_counter())
        if r:  # the first call is a warm-up
            for name, a, b in zip(times, ticks, ticks[1:]):
                times[name].append(b - a)
        assert np.allclose(bare, expected, rtol=0, atol=1e-9) and np.allclose(rewarded, expected, rtol=0, atol=1e-9)
    # Calls of the first pass over the videos meet each video's references for the first time (the caches are cold).
    first_pass = -(-len(references) // videos)
    cold = {name: t[: first_pass - 1] or t for name, t in times.items()}
    warm = {name: t[first_pass - 1 :] for name, t in times.items()}
    ms = lambda values: 1000 * statistics.median(values)  # noqa: E731
    result = {
        "candidates": videos * samples, "repeats": repeats,
        "recompute_median_ms": ms(times["recompute"]), "recompute_p90_ms": 1000 * float(np.percentile(times["recompute"], 90)),
        "scorer_cold_median_ms": ms(cold["scorer"]), "reward_cold_median_ms": ms(cold["reward"]),
    }
    if warm["reward"]:
        result.update(
            scorer_warm_median_ms=ms(warm["scorer"]),
            scorer_warm_p90_ms=1000 * float(np.percentile(warm["scorer"], 90)),
            reward_warm_median_ms=ms(warm["reward"]),
            reward_warm_over_scorer=statistics.median(warm["reward"]) / statistics.median(warm["scorer"]),
            recompute_over_scorer_warm=statistics.median(warm["recompute"]) / statistics.median(warm["scorer"]),
        )
    return result


def bench_mlm(size: str, num_captions: int, repeats: int, chunk_size: int) -> dict:
    from transformers import BertConfig, BertForMaskedLM

    from hf_vidcap.rewards.grammar_rewards import _masked_lm_scores_one_by_one, get_mlm_grammar_reward
    from hf_vidcap.testing import build_word_tokenizer

    candidates, _ = msrvtt_like_corpus(num_captions, 1, seed=1)
    # A word-level tokenizer over the corpus (every word one token, [MASK] included), standing in for BERT's.
    tokenizer = build_word_tokenizer(sorted({w for c in candidates for w in c.split()}))
    if size == "base":
        config = BertConfig(vocab_size=len(tokenizer))
    else:
        config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
    torch.manual_seed(0)
    model = BertForMaskedLM(config).eval()
    reward = get_mlm_grammar_reward(model, tokenizer, chunk_size=chunk_size)
    reward(candidates[:8])  # warm-up
    batched_times, single_times = [], []
    max_diff = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        batched = reward(candidates)
        batched_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        single = _masked_lm_scores_one_by_one(model, tokenizer, candidates)
        single_times.append(time.perf_counter() - start)
        max_diff = max(max_diff, float(np.abs(np.asarray(batched) - np.asarray(single)).max()))
    return {
        "model": f"BertForMaskedLM ({size}, random weights, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters)",
        "captions": num_captions,
        "chunk_size": chunk_size,
        "batched_captions_per_s": num_captions / statistics.median(batched_times),
        "one_by_one_captions_per_s": num_captions / statistics.median(single_times),
        "speedup": statistics.median(single_times) / statistics.median(batched_times),
        "max_abs_reward_difference": max_diff,
        "repeats": repeats,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scst-repeats", type=int, default=160, help="calls of 64 videos: 79 make one pass over the 5,000")
    parser.add_argument("--mlm-size", choices=["base", "tiny"], default="base")
    parser.add_argument("--mlm-captions", type=int, default=32)
    parser.add_argument("--mlm-repeats", type=int, default=3)
    parser.add_argument("--mlm-chunk-size", type=int, default=256)
    parser.add_argument("--skip-mlm", action="store_true")
    parser.add_argument("--process-repeats", type=int, default=5, help="whole-process scoring runs of each tool")
    parser.add_argument("--output", default="benchmarks/results/reward_speed")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))

    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    candidates, references = msrvtt_like_corpus(5000, 20)
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__},
        "corpus": corpus_statistics(references),
        "cider_d_corpus_mode": bench_cider_corpus(candidates, references, args.repeats),
        "cider_d_scst_mode": bench_cider_scst(candidates, references, args.scst_repeats),
        "cider_d_whole_process": bench_whole_process(candidates, references, args.process_repeats, Path(args.output).parent),
    }
    if not args.skip_mlm:
        results["mlm_grammar"] = bench_mlm(args.mlm_size, args.mlm_captions, args.mlm_repeats, args.mlm_chunk_size)

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    corpus, scst = results["cider_d_corpus_mode"], results["cider_d_scst_mode"]
    lines = [
        "# Reward speed",
        "",
        f"{results['machine']['cpus']} CPU cores, Python {results['machine']['python']}, torch {results['machine']['torch']}. "
        f"Corpus: {results['corpus']['references']} references, {results['corpus']['mean_words']} words on average, "
        f"vocabulary {results['corpus']['vocabulary']}, distinct 4-grams {results['corpus']['distinct_ngrams'][4]}.",
        "",
        "| measurement | pycocoevalcap / one-by-one | hf_vidcap | ratio (median) | goal |",
        "|---|---|---|---|---|",
        f"| CIDEr-D, 5,000 candidates x 20 refs (median of {corpus['repeats']}) | {corpus['pycocoevalcap_s']:.2f} s | "
        f"{corpus['hf_vidcap_s']:.3f} s | {corpus['speedup_median_of_ratios']:.1f}x (min {corpus['speedup_min']:.1f}x); "
        f"max score difference {corpus['max_abs_score_difference']:.1e} | >= 25x, identical |",
        f"| CIDEr-D SCST mode, {scst['candidates']} candidates, fixed df, every reference vector recomputed "
        f"(`reference_cache_entries=0`; median of {scst['repeats']}) | | {scst['recompute_median_ms']:.2f} ms "
        f"(p90 {scst['recompute_p90_ms']:.2f}) | | |",
        f"| the same, reference vectors kept per video (the default), first pass over the videos / later passes | "
        f"recomputing {scst['recompute_median_ms']:.2f} ms | {scst['scorer_cold_median_ms']:.2f} ms / "
        f"{scst.get('scorer_warm_median_ms', float('nan')):.2f} ms (p90 {scst.get('scorer_warm_p90_ms', float('nan')):.2f}) | "
        f"later passes {scst.get('recompute_over_scorer_warm', float('nan')):.2f}x faster | <= 10 ms |",
        f"| the SCST reward on the same batches (`get_cider_d_reward`: normalisation, TRL contract), first pass over "
        f"the videos / later passes | bare scorer {scst.get('scorer_warm_median_ms', float('nan')):.2f} ms | "
        f"{scst['reward_cold_median_ms']:.2f} ms / {scst.get('reward_warm_median_ms', float('nan')):.2f} ms | later passes "
        f"{scst.get('reward_warm_over_scorer', float('nan')):.2f}x the scorer | <= 1.3x |",
    ]
    whole = results["cider_d_whole_process"]
    lines.append(
        f"| CIDEr-D of a 5,000 x 20 JSON file as a whole process (import, read, score; median of {whole['repeats']}) | "
        f"{whole['pycocoevalcap_s']:.2f} s, {whole['pycocoevalcap_peak_mb']:.0f} MB peak | {whole['hf_vidcap_s']:.2f} s, "
        f"{whole['hf_vidcap_peak_mb']:.0f} MB peak{' (imports torch)' if whole['hf_vidcap_imports_torch'] else ''} | "
        f"{whole['speedup_median_of_ratios']:.1f}x; max score difference {whole['max_abs_score_difference']:.1e} | "
        ">= 5x, lower peak memory |"
    )
    if "mlm_grammar" in results:
        mlm = results["mlm_grammar"]
        lines.append(
            f"| MLM grammar reward, {mlm['model']}, {mlm['captions']} captions | {mlm['one_by_one_captions_per_s']:.1f} captions/s | "
            f"{mlm['batched_captions_per_s']:.1f} captions/s | {mlm['speedup']:.1f}x; max reward difference "
            f"{mlm['max_abs_reward_difference']:.1e} | batched faster |"
        )
    output.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

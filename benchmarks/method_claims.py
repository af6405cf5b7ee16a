"""Every source paper's claim, measured on the shapes world against its controls: one table.

Each claim compares arms (training recipes) trained from the same XE checkpoint per seed. The script:

1. trains, per seed, a tiny VideoBlip2 with teacher-forced cross-entropy (XE) until validation CIDEr-D stops
   improving, and keeps the *best validation step* (cached under ``--workdir``, keyed by world version and seed);
2. trains every arm the chosen claims need from that checkpoint for the same budget in work: ``--steps``
   optimizer steps of 32 videos, each with 5 captions per video in the loss (5 sampled rollouts or the top 5
   beams for the RL arms; 5 reference captions, teacher-forced, for the continued-XE control);
3. chooses each arm's learning rate on the *validation* split of ``--select-seed`` (greedy CIDEr-D) among the
   arm's grid, then uses it for every seed;
4. scores each arm on the test split: greedy captions (CIDEr-D, BLEU-4, names the shape / action), 5 random
   samples (rs) and the top 5 beams (bs) per video (mean CIDEr-D of the 5, Div-1, Div-2, mBLEU-4, as the
   sequence-level exploration paper defines them);
5. writes each arm x seed x learning rate to its own JSON under ``--runs`` as soon as it finishes (a rerun skips
   what is there), and the table: ``--output``.{json,md,png}; the verdict of each claim is computed (`verdict`).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/method_claims.py --seeds 0 1 2              # every claim
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/method_claims.py --claims sle_vs_sll --seeds 0

``--table-only`` rebuilds the table from the stored runs without training (missing runs are reported).
Needs the ``bench`` extra (matplotlib) for the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README_START, README_END = "<!-- method_claims:start -->", "<!-- method_claims:end -->"


# ---------------------------------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Arm:
    """A training recipe run from the XE checkpoint. ``settings`` go to `VideoSCSTConfig`; ``learning_rates`` is
    the validation grid (a string ``"cosine:<lr>"`` means cosine decay from lr)."""

    label: str
    settings: dict = field(default_factory=dict)
    learning_rates: tuple = ()


@dataclass(frozen=True)
class Comparison:
    """Arm ``a`` against arm ``b`` on ``metric`` (a key of the arm's test scores): ``"higher"`` / ``"lower"``
    claims a is higher / lower; ``"not_worse"`` claims a is not lower beyond seed noise."""

    a: str
    b: str
    metric: str
    direction: str


@dataclass(frozen=True)
class Claim:
    paper: str
    statement: str
    anchor: str
    comparisons: tuple


@dataclass(frozen=True)
class Suite:
    """A benchmark's arms and claims, the test scores kept per arm, and the validation scores (compared in order)
    that choose each arm's setting among its grid. Other benchmarks (``regen_claims.py``) define their own suite and
    reuse the storage, the verdicts and the table."""

    arms: dict
    claims: dict
    score_keys: tuple
    selection_keys: tuple = ("validation_cider_d",)


RL_GRID = (2e-5, 5e-5, 1e-4)
ARMS = {
    "xe": Arm("XE checkpoint (best validation step)"),
    "scst": Arm("SCST / SLL: K=5 samples, greedy baseline", {"num_generations": 5}, RL_GRID),
    "beam_mean": Arm("SCST, top-5 beams, beam-mean baseline", {"num_generations": 5, "rollout": "beam", "baseline": "beam_mean"}, RL_GRID),
    "xe_continued": Arm(
        "XE continued (control): 5 references per video", {"xe_captions_per_video": 5, "xe_only": True},
        (1e-3, 1e-4, 5e-5, "cosine:1e-3"),
    ),
    "sll_me": Arm("SLL-ME: SCST + entropy bonus 1e-2", {"num_generations": 5, "entropy_coef": 1e-2}, RL_GRID),
    "sle": Arm("SLL-SLE: alpha 0.75, d = BLEU-3 + BLEU-4", {"num_generations": 5, "exploration_alpha": 0.75}, RL_GRID),
}

SLE_PAPER = "Sequence-level exploration (Chen & Jin), Table 4"
CLAIMS = {
    "scst_vs_xe": Claim(
        "BLIP-2 video captioning SCST (LAVIS report); self-critical training (Rennie et al.)",
        "SCST with the CIDEr-D reward raises test CIDEr-D over its XE checkpoint",
        "MSR-VTT, BLIP-2 FLAN-T5-XL 8 frames: 73.6 (XE) -> 77.4 (SCST from it)",
        (Comparison("scst", "xe", "greedy_cider_d", "higher"),),
    ),
    "scst_vs_xe_continued": Claim(
        "BLIP-2 video captioning SCST; self-critical training",
        "SCST beats XE continued from the same checkpoint for the same work (steps x captions), lr chosen on validation",
        "(no control in the papers: SCST is compared with the XE checkpoint)",
        (Comparison("scst", "xe_continued", "greedy_cider_d", "higher"),),
    ),
    "beam_mean_vs_xe_continued": Claim(
        "BLIP-2 video captioning SCST (beam-mean baseline)",
        "SCST on the top-5 beams with the beam-mean baseline beats continued XE for the same work",
        "MSR-VTT, FLAN-T5-XL LoRA+SCST 16 frames: 79.2 (vs 73.0 XE LoRA, 16 frames)",
        (Comparison("beam_mean", "xe_continued", "greedy_cider_d", "higher"),),
    ),
    "sle_vs_sll": Claim(
        SLE_PAPER,
        "the diversity term raises Div-1 / Div-2 and lowers mBLEU-4 of 5 random samples at equal or better CIDEr-D",
        "COCO (rs): Div-1 0.25 -> 0.29, Div-2 0.32 -> 0.40, mBLEU-4 0.81 -> 0.68, CIDEr 114.6 -> 115.9",
        (
            Comparison("sle", "scst", "rs_div_1", "higher"),
            Comparison("sle", "scst", "rs_div_2", "higher"),
            Comparison("sle", "scst", "rs_mbleu_4", "lower"),
            Comparison("sle", "scst", "rs_cider_d", "not_worse"),
        ),
    ),
    "sle_vs_sll_me": Claim(
        SLE_PAPER,
        "sequence-level exploration diversifies more than the word-level entropy bonus (SLL-ME, weight 1e-2)",
        "COCO (rs): Div-2 0.33 (SLL-ME) vs 0.40 (SLE), mBLEU-4 0.80 vs 0.68",
        (Comparison("sle", "sll_me", "rs_div_2", "higher"), Comparison("sle", "sll_me", "rs_mbleu_4", "lower")),
    ),
}
SCORE_KEYS = (
    "greedy_cider_d", "greedy_bleu_4", "names_shape", "names_action",
    "rs_cider_d", "rs_div_1", "rs_div_2", "rs_mbleu_4", "bs_cider_d", "bs_div_1", "bs_div_2", "bs_mbleu_4",
)
SUITE = Suite(ARMS, CLAIMS, SCORE_KEYS)
# Benchmarks whose claim rows join this table: their result JSON (written by the script named in it).
PLUGINS = {name: ROOT / "benchmarks" / "results" / f"{name}.json" for name in ("regen_claims", "wtf_claims", "claster_claims")}


# -------------------------------------------------------------------------------------------------------- verdicts


def _stats(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0, "n": len(values)}


def verdict(a: list[float], b: list[float], direction: str) -> dict:
    """The verdict on "arm a is ``direction`` than arm b" from per-seed values (paired by position).

    The paired differences d = a - b are signed so that positive favours the claim; noise is the larger
    seed-to-seed standard deviation of the two arms. ``holds``: the mean signed difference is positive and
    exceeds the noise (for ``"not_worse"``: it is not below minus the noise). ``reversed``: it is below minus the
    noise. Otherwise ``within noise``. With one seed the noise is 0, so only the direction counts.
    """
    if len(a) != len(b) or not a:
        raise ValueError(f"verdict needs the same non-zero number of seeds for both arms (got {len(a)} and {len(b)}).")
    if direction not in ("higher", "lower", "not_worse"):
        raise ValueError(f"direction ({direction!r}) must be 'higher', 'lower' or 'not_worse'.")
    sign = -1.0 if direction == "lower" else 1.0
    diffs = [x - y for x, y in zip(a, b)]
    signed = sign * statistics.mean(diffs)
    noise = max(_stats(a)["std"], _stats(b)["std"])
    if direction == "not_worse":
        result = "holds" if signed >= -noise else "reversed"
    else:
        result = "holds" if signed > 0 and signed > noise else "reversed" if signed < -noise else "within noise"
    return {"diffs": diffs, "mean_diff": statistics.mean(diffs), "noise": noise, "verdict": result}


def claim_verdict(comparisons: list[dict]) -> str:
    """A claim holds when every comparison holds; it is reversed when any is; otherwise it is within noise."""
    verdicts = [c["verdict"] for c in comparisons]
    if all(v == "holds" for v in verdicts):
        return "holds"
    return "reversed" if "reversed" in verdicts else "within noise"


# ----------------------------------------------------------------------------------------------------- run storage


def lr_name(lr) -> str:
    return lr if isinstance(lr, str) else f"{lr:g}"


def run_path(runs: Path, world: int, seed: int, arm: str, lr=None) -> Path:
    return runs / f"world{world}" / f"seed{seed}" / (f"{arm}.json" if lr is None else f"{arm}@{lr_name(lr)}.json")


def load_run(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def chosen_lr(runs: Path, world: int, select_seed: int, arm: str, suite: Suite = SUITE):
    """The arm's setting (learning rate) with the best validation score on the selection seed (None until all are
    run)."""
    grid = suite.arms[arm].learning_rates
    if not grid:
        return None
    found = {lr: load_run(run_path(runs, world, select_seed, arm, lr)) for lr in grid}
    if any(r is None for r in found.values()):
        return None
    return max(grid, key=lambda lr: tuple(found[lr][key] for key in suite.selection_keys))


# ------------------------------------------------------------------------------------------------------- the table


def build_table(runs: Path, world: int, seeds: list[int], claims: list[str], select_seed: int, suite: Suite = SUITE) -> dict:
    """Claims and arms from the stored runs (what is missing is listed, not invented)."""
    selection = suite.selection_keys[0]
    arms_needed = sorted({name for c in claims for comp in suite.claims[c].comparisons for name in (comp.a, comp.b)})
    arms, missing = {}, []
    for arm in arms_needed:
        lr = chosen_lr(runs, world, select_seed, arm, suite)
        entry = {"label": suite.arms[arm].label, "learning_rate": None if lr is None else lr_name(lr), "per_seed": {}}
        if suite.arms[arm].learning_rates:
            entry["validation_grid"] = {
                lr_name(g): (r or {}).get(selection) for g in suite.arms[arm].learning_rates
                for r in [load_run(run_path(runs, world, select_seed, arm, g))]
            }
        for seed in seeds:
            if suite.arms[arm].learning_rates and lr is None:
                missing.append(f"{arm} (learning-rate selection on seed {select_seed})")
                break
            run = load_run(run_path(runs, world, seed, arm, lr))
            if run is None:
                missing.append(f"{arm} seed {seed}")
            else:
                entry["per_seed"][seed] = run["test"]
        done = sorted(entry["per_seed"])
        entry["seeds"] = done
        # a score an arm does not have (e.g. cluster purity without clusters) is left out, not invented
        kept = [k for k in suite.score_keys if done and all(k in entry["per_seed"][s] for s in done)]
        entry["test"] = {k: _stats([entry["per_seed"][s][k] for s in done]) for k in kept}
        arms[arm] = entry
    rows = {}
    for name in claims:
        claim = suite.claims[name]
        comparisons = []
        for comp in claim.comparisons:
            common = sorted(set(arms[comp.a]["seeds"]) & set(arms[comp.b]["seeds"]))
            row = {"a": comp.a, "b": comp.b, "metric": comp.metric, "direction": comp.direction, "seeds": common}
            if common:
                a = [arms[comp.a]["per_seed"][s][comp.metric] for s in common]
                b = [arms[comp.b]["per_seed"][s][comp.metric] for s in common]
                row.update({"a_stats": _stats(a), "b_stats": _stats(b), **verdict(a, b, comp.direction)})
            else:
                row["verdict"] = "not run"
            comparisons.append(row)
        ran = [c for c in comparisons if c["verdict"] != "not run"]
        overall = claim_verdict(ran) if len(ran) == len(comparisons) else "not run"
        rows[name] = {
            "paper": claim.paper, "statement": claim.statement, "anchor": claim.anchor, "comparisons": comparisons,
            "verdict": overall, "seeds": seeds,
        }
    stored = [json.loads(p.read_text()) for p in sorted((runs / f"world{world}").glob("seed*/*.json"))]
    compute = {"runs": len(stored), "seconds": sum(r.get("train_seconds", r.get("seconds", 0.0)) for r in stored)}
    return {
        "world_version": world, "seeds": seeds, "select_seed": select_seed, "claims": rows, "arms": arms,
        "missing": sorted(set(missing)), "compute": compute,
    }


def plugin_claims(plugins: dict | None = None) -> dict:
    """The claim rows of the benchmarks in ``plugins`` (default `PLUGINS`) that have written their results; each row
    names the script that measured it (``source``)."""
    rows = {}
    for name, path in (PLUGINS if plugins is None else plugins).items():
        if Path(path).exists():
            for claim, row in json.loads(Path(path).read_text())["claims"].items():
                rows[claim] = {**row, "source": f"benchmarks/{name}.py"}
    return rows


def _pm(stats: dict | None, digits: int = 3) -> str:
    if not stats:
        return "–"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}" if stats["n"] > 1 else f"{stats['mean']:.{digits}f}"


def claim_lines(table: dict) -> list[str]:
    """The claims table (header included): one row per comparison, the claim's verdict on its last row."""
    lines = [
        "| claim | paper's numbers | comparison | ours: A | ours: B | A − B per seed | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in table["claims"].items():
        for i, comp in enumerate(row["comparisons"]):
            first = i == 0
            diffs = ", ".join(f"{d:+.3f}" for d in comp.get("diffs", [])) or "–"
            source = f"; `{row['source']}`, its own settings" if row.get("source") else ""
            title = f"**{name}**: {row['statement']} ({row['paper']}{source})" if first else ""
            anchor = row["anchor"] if first else ""
            overall = f" → claim **{row['verdict']}**" if i == len(row["comparisons"]) - 1 else ""
            what = f"{comp['a']} vs {comp['b']}: {comp['metric']} ({comp['direction'].replace('_', ' ')})"
            asked = len(row.get("seeds", table["seeds"]))
            partial = f" ({len(comp['seeds'])} of {asked} seeds)" if 0 < len(comp["seeds"]) < asked else ""
            lines.append(
                f"| {title} | {anchor} | {what} | {_pm(comp.get('a_stats'))} | {_pm(comp.get('b_stats'))} | {diffs} | "
                f"{comp['verdict']}{partial}{overall} |"
            )
    return lines


def markdown(table: dict, settings: dict) -> str:
    seeds = table["seeds"]
    lines = [
        "### Method claims on the shapes world (`benchmarks/method_claims.py`)",
        "",
        f"Shapes world v{table['world_version']} ({settings['num_train']} training clips, 100 validation, "
        f"{settings['num_test']} test), tiny VideoBlip2 (frames + differences, temporal embedding). Per seed: XE at lr "
        f"{settings['xe_lr']} to the best validation CIDEr-D (evaluated every {settings['eval_steps']} steps, stop after "
        f"{settings['patience']} evaluations without a gain of {settings['min_delta']}); every arm then trains "
        f"{settings['steps']} steps of 32 videos x 5 captions from that checkpoint (equal work: "
        f"{settings['steps'] * 32 * 5:,} caption log-likelihood gradients). Learning rates chosen on validation CIDEr-D of seed {table['select_seed']}. Test "
        f"split; mean ± std over seeds {seeds}; diffs paired per seed. Verdict (computed): *holds* when the mean "
        "paired difference favours the claim by more than the larger seed std of the two arms (*not worse*: not "
        "below minus it), *reversed* when it goes the other way by more than that, else *within noise*.",
        "",
        *claim_lines(table),
    ]
    lines += [
        "",
        "| arm | lr (validation CIDEr-D per lr) | seeds | greedy CIDEr-D | BLEU-4 | names shape | rs CIDEr-D | rs Div-1 | rs Div-2 | rs mBLEU-4 | bs CIDEr-D | bs Div-2 | bs mBLEU-4 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, arm in table["arms"].items():
        grid = arm.get("validation_grid")
        lr = "–" if not grid else f"{arm['learning_rate'] or 'pending'} (" + ", ".join(
            f"{k}: {'–' if v is None else f'{v:.3f}'}" for k, v in grid.items()) + ")"
        t = arm["test"]
        cells = [_pm(t.get(k)) for k in ("greedy_cider_d", "greedy_bleu_4")] + [_pm(t.get("names_shape"), 2)]
        cells += [_pm(t.get(k)) for k in ("rs_cider_d", "rs_div_1", "rs_div_2", "rs_mbleu_4", "bs_cider_d", "bs_div_2", "bs_mbleu_4")]
        lines.append(f"| {name}: {arm['label']} | {lr} | {', '.join(map(str, arm['seeds'])) or '–'} | " + " | ".join(cells) + " |")
    if table["missing"]:
        lines += ["", "Not run yet: " + "; ".join(table["missing"]) + "."]
    compute = table["compute"]
    lines += [
        "",
        f"Compute: {compute['runs']} stored runs (XE and arms, every seed and learning rate), "
        f"{compute['seconds'] / 3600:.1f} h of training on 2 CPU cores (shared machine; evaluation not counted).",
    ]
    lines += ["", "Rerun: `HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/method_claims.py --seeds "
              + " ".join(map(str, seeds)) + "` (one row: `--claims <name>`); the runs are stored in "
              "`benchmarks/results/method_claims/` and skipped when present.", ""]
    return "\n".join(lines)


def plot(table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(name, comp) for name, row in table["claims"].items() for comp in row["comparisons"]]
    columns = min(4, len(panels))
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
    for ax, (name, comp) in zip(axes.flat, panels):
        arms = [comp["a"], comp["b"]]
        stats = [comp.get("a_stats"), comp.get("b_stats")]
        means = [s["mean"] if s else 0.0 for s in stats]
        errors = [s["std"] if s else 0.0 for s in stats]
        ax.bar(arms, means, yerr=errors, capsize=4, color=["tab:blue", "tab:gray"])
        ax.set_title(f"{name}\n{comp['metric']}: {comp['verdict']}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_arm_panels(table: dict, path: Path, panels: tuple) -> None:
    """One bar panel per ``(score key, title)``: every arm that has run, mean ± std over seeds (the per-arm figure
    of the plug-in benchmarks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = [a for a in table["arms"] if table["arms"][a]["seeds"]]
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (key, title) in zip(axes, panels):
        stats = [table["arms"][a]["test"][key] for a in arms]
        ax.bar(arms, [s["mean"] for s in stats], yerr=[s["std"] for s in stats], capsize=3, color="tab:blue")
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_outputs(
    table: dict, settings: dict, output: str, readme: Path | None = None, render=None, draw=None, markers=(README_START, README_END)
) -> str:
    """``output``.json / .md / .png of ``table`` (Markdown by ``render``, default `markdown`; the figure by ``draw``,
    default `plot`), and the Markdown between ``markers`` in ``readme``. Returns the Markdown."""
    text = (render or markdown)(table, settings)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output + ".json").write_text(json.dumps({"settings": settings, **table}, indent=2, default=str) + "\n")
    Path(output + ".md").write_text(text)
    (draw or plot)(table, Path(output + ".png"))
    if readme is not None:
        content = readme.read_text()
        start, end = content.index(markers[0]) + len(markers[0]), content.index(markers[1])
        readme.write_text(content[:start] + "\n" + text + content[end:])
    return text


# --------------------------------------------------------------------------------------------------------- training


def _scores(model, processor, dataset, collator, seed: int, diverse: bool = True) -> dict:
    """Greedy, 5 random samples (seeded) and top-5 beams per video: the claim metrics."""
    import torch

    from hf_vidcap.data import caption_names_attributes
    from hf_vidcap.evaluation import generate_for_dataset, score_captions
    from hf_vidcap.metrics import distinct_ngrams, mbleu
    from hf_vidcap.metrics.text import normalize_caption

    captions, columns = generate_for_dataset(model, processor, dataset, collator, batch_size=100, show_progress=False)
    greedy = score_captions(captions, columns["captions"])
    named = [caption_names_attributes(c, {k: columns[k][i] for k in ("color", "shape", "action")}) for i, c in enumerate(captions)]
    scores = {"greedy_cider_d": greedy["cider_d"], "greedy_bleu_4": greedy["bleu_4"]}
    for key in ("shape", "action"):
        scores[f"names_{key}"] = sum(n[key] for n in named) / len(named)
    scores["examples"] = captions[:5]
    if not diverse:
        return scores
    for mode, settings in (("rs", {"do_sample": True}), ("bs", {"num_beams": 5})):
        torch.manual_seed(seed)
        sets, _ = generate_for_dataset(model, processor, dataset, collator, batch_size=50, show_progress=False, num_return_sequences=5, **settings)
        groups = [[normalize_caption(c) for c in sets[i : i + 5]] for i in range(0, len(sets), 5)]
        references = [refs for refs in columns["captions"] for _ in range(5)]
        scores[f"{mode}_cider_d"] = score_captions(sets, references, metrics=("cider_d",))["cider_d"]  # mean of the 5
        scores[f"{mode}_div_1"] = distinct_ngrams(groups, n=1)
        scores[f"{mode}_div_2"] = distinct_ngrams(groups, n=2)
        scores[f"{mode}_mbleu_4"] = mbleu(groups, n=4)
    return scores


def best_validation_callback(patience: int, min_delta: float):
    """A callback that stops XE once validation CIDEr-D has not gained ``min_delta`` over the best for ``patience``
    evaluations, and keeps the weights of the best evaluation (``best_state``, ``best_step``)."""
    from transformers import TrainerCallback

    class BestValidation(TrainerCallback):
        def __init__(self):
            self.best, self.bad, self.history, self.best_state, self.best_step = float("-inf"), 0, [], None, 0

        def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
            score = metrics["eval_cider_d"]
            self.history.append((state.global_step, score))
            self.bad = 0 if score > self.best + min_delta else self.bad + 1
            if score > self.best:
                self.best, self.best_step = score, state.global_step
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            control.should_training_stop = control.should_training_stop or self.bad >= patience
            return control

    return BestValidation()


class Bench:
    def __init__(self, args):
        import torch

        from hf_vidcap.data import (
            ShapesWorldConfig,
            build_shapes_tokenizer,
            generate_shapes_dataset,
            load_shapes_dataset,
        )
        from hf_vidcap.rewards import get_cider_d_reward

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))  # one per process when several run
        self.args = args
        world = ShapesWorldConfig(num_train=args.num_train, num_validation=100, num_test=args.num_test, seed=0)
        self.world = world.version
        self.dataset = load_shapes_dataset(generate_shapes_dataset(args.data_dir, world))
        self.tokenizer = build_shapes_tokenizer()
        self.reward = get_cider_d_reward(self.dataset["train"]["captions"])

    def config(self, out: str, **kwargs):
        from hf_vidcap.trainer import VideoSCSTConfig

        defaults = dict(
            output_dir=out, use_cpu=True, per_device_train_batch_size=32, per_device_eval_batch_size=100,
            lr_scheduler_type="constant", max_completion_length=16, save_strategy="no", logging_steps=100,
            disable_tqdm=True, report_to="none",
        )
        return VideoSCSTConfig(**{**defaults, **kwargs})

    def _score_and_store(self, path: Path, model, processor, collator, seed: int, **fields) -> dict:
        """Validation greedy CIDEr-D (for the lr choice) and the test scores, stored with ``fields`` at ``path``."""
        result = {
            "seed": seed, **fields,
            "validation_cider_d": _scores(model, processor, self.dataset["validation"], collator, seed, diverse=False)["greedy_cider_d"],
            "test": _scores(model, processor, self.dataset["test"], collator, seed),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        return result

    def xe_checkpoint(self, seed: int) -> Path:
        """The best-validation XE checkpoint of ``seed`` (trained once, then read from the work directory)."""
        import torch

        from hf_vidcap.data import VideoCaptionCollator
        from hf_vidcap.models import VideoBlip2Processor, create_tiny_video_blip2
        from hf_vidcap.trainer import VideoSCSTTrainer

        args = self.args
        checkpoint = Path(args.workdir) / f"world{self.world}" / f"seed{seed}" / "xe_best"
        record = run_path(Path(args.runs), self.world, seed, "xe")
        if (checkpoint / "model.safetensors").exists() and record.exists():
            return checkpoint
        print(f"[seed {seed}] XE until validation CIDEr-D plateaus", flush=True)
        torch.manual_seed(seed)
        processor = VideoBlip2Processor(self.tokenizer, num_query_tokens=8, image_size=64, frame_differences="append")
        model = create_tiny_video_blip2(self.tokenizer, num_frames=processor.num_model_frames(8))
        collator = VideoCaptionCollator(processor, num_frames=8)
        best = best_validation_callback(args.patience, args.min_delta)
        xe_args = self.config(
            str(checkpoint.parent / "xe_run"), seed=seed, learning_rate=args.xe_lr, max_steps=args.xe_max_steps,
            xe_warmup_steps=args.xe_max_steps, eval_strategy="steps", eval_steps=args.eval_steps,
        )
        trainer = VideoSCSTTrainer(model, self.reward, xe_args, self.dataset["train"], self.dataset["validation"], processor, collator, callbacks=[best])
        start = time.perf_counter()
        trainer.train()
        model.load_state_dict(best.best_state)
        model.save_pretrained(checkpoint)
        processor.save_pretrained(checkpoint)
        result = self._score_and_store(
            record, model, processor, collator, seed, xe_steps=trainer.state.global_step, best_step=best.best_step,
            curve=best.history, train_seconds=time.perf_counter() - start,
        )
        print(f"[seed {seed}] XE: best step {best.best_step} of {trainer.state.global_step}, test CIDEr-D {result['test']['greedy_cider_d']:.3f}", flush=True)
        return checkpoint

    def run_arm(self, seed: int, arm: str, lr) -> dict:
        from hf_vidcap.data import VideoCaptionCollator
        from hf_vidcap.models import VideoBlip2ForConditionalGeneration, VideoBlip2Processor
        from hf_vidcap.trainer import VideoSCSTTrainer

        path = run_path(Path(self.args.runs), self.world, seed, arm, lr)
        if path.exists():
            return json.loads(path.read_text())
        checkpoint = self.xe_checkpoint(seed)
        if arm == "xe":
            return json.loads(path.read_text())
        settings = dict(ARMS[arm].settings)
        steps = self.args.steps
        if settings.pop("xe_only", False):
            settings.update(xe_warmup_steps=steps)
        scheduler = "constant"
        if isinstance(lr, str):
            scheduler, value = lr.split(":")
            lr = float(value)
        print(f"[seed {seed}] {arm} at lr {lr_name(lr)} ({scheduler}), {steps} steps", flush=True)
        processor = VideoBlip2Processor.from_pretrained(checkpoint)
        collator = VideoCaptionCollator(processor, num_frames=8)
        model = VideoBlip2ForConditionalGeneration.from_pretrained(checkpoint)
        run_args = self.config(
            str(Path(self.args.workdir) / f"world{self.world}" / f"seed{seed}" / path.stem), seed=seed, learning_rate=lr, lr_scheduler_type=scheduler,
            max_steps=steps, **settings,
        )
        trainer = VideoSCSTTrainer(model, self.reward, run_args, self.dataset["train"], None, processor, collator)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        result = self._score_and_store(
            path, model, processor, collator, seed, arm=arm, learning_rate=lr_name(lr), lr_scheduler_type=scheduler,
            steps=trainer.state.global_step, train_seconds=seconds,
        )
        print(f"[seed {seed}] {arm}@{lr_name(lr)}: validation {result['validation_cider_d']:.3f}, test {result['test']['greedy_cider_d']:.3f} ({seconds:.0f} s)", flush=True)
        return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--claims", nargs="+", default=list(CLAIMS), choices=list(CLAIMS))
    parser.add_argument("--select-seed", type=int, default=0, help="seed whose validation split chooses each arm's lr")
    parser.add_argument("--steps", type=int, default=400, help="optimizer steps of every arm")
    parser.add_argument("--data-dir", default="data/shapes_benchmark")
    parser.add_argument("--num-train", type=int, default=3000)
    parser.add_argument("--num-test", type=int, default=300)
    parser.add_argument("--xe-lr", type=float, default=1e-3)
    parser.add_argument("--xe-max-steps", type=int, default=4000)
    parser.add_argument("--eval-steps", type=int, default=250)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--min-delta", type=float, default=0.02)
    parser.add_argument("--runs", default="benchmarks/results/method_claims", help="one JSON per arm x seed x lr")
    parser.add_argument("--workdir", default="outputs/method_claims", help="XE checkpoints and trainer outputs")
    parser.add_argument("--output", default="benchmarks/results/method_claims")
    parser.add_argument("--table-only", action="store_true", help="rebuild the table from stored runs")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README's results section")
    args = parser.parse_args(argv)

    settings = {k: getattr(args, k) for k in ("steps", "num_train", "num_test", "xe_lr", "xe_max_steps", "eval_steps", "patience", "min_delta")}
    arms = sorted({name for c in args.claims for comp in CLAIMS[c].comparisons for name in (comp.a, comp.b)})
    if args.table_only:
        from hf_vidcap.data.shapes import SHAPES_WORLD_VERSION

        world = SHAPES_WORLD_VERSION
    else:
        bench = Bench(args)
        world = bench.world
        # Learning-rate selection first (on the selection seed), then every seed at the chosen rate.
        for arm in arms:
            for lr in ARMS[arm].learning_rates or [None]:
                bench.run_arm(args.select_seed, arm, lr)
        for seed in args.seeds:
            for arm in arms:
                bench.run_arm(seed, arm, chosen_lr(Path(args.runs), world, args.select_seed, arm))
    table = build_table(Path(args.runs), world, args.seeds, args.claims, args.select_seed)
    table["claims"].update(plugin_claims())
    text = write_outputs(table, settings, args.output, None if args.no_readme else ROOT / "README.md")
    print(text)


if __name__ == "__main__":
    sys.exit(main())

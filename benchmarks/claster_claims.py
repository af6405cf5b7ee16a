"""CLASTER's ablation (Table 1) on the shapes action world: zero-shot action recognition with a cluster-based
representation whose centroids are optimised by REINFORCE, against no clustering, a random clustering, K-means
alone, centroids learned by gradient descent (w/o RL) and visual-only clustering (w/o semantic embeddings).

Setting (the paper's protocol, shrunk to the synthetic world):

- **Classes**: the 31 (shape, action) pairs of the shapes world ("circle moving left", "square growing", ...),
  ``--clips-per-class`` clips each (colour, size and a static companion shape at random); 50/50 seen/unseen draws
  (`load_action_dataset("folder", zero_shot_draw=k)`): an unseen class shares its shape or its action words with
  seen classes, which is what the sentence embeddings (the real all-MiniLM-L6-v2, packaged offline) relate.
- **Video encoder**: a tiny VideoMAE (`save_tiny_video_encoder`, random) fine-tuned per draw as a classifier of that
  draw's seen training videos only (`train_video_classifier`), so it never sees an unseen class or an unseen video;
  its mean-pooled last hidden states are the frozen features (cached). The paper's I3D saw Kinetics instead.
- **Selection** (never on the test draws): a separate *validation world* (the same classes, other clips, seed 1)
  with its own draws (``--validation-draws``); each arm's learning rate (and the w/o-RL arm's centroid learning
  rate) maximises the mean validation ZSL accuracy over them, then GZSL H.
- **Arms** (`CLASTER_ABLATIONS`): every arm trains ``--steps`` steps of 32 videos (equal work), Adam, alpha
  0.1 / 0.01 / 0.001 after 10% / 20% of the steps (the paper: 1,000 / 2,000 of 10,000).
- **Test**: the test world's draws 0..9 (``--draws``): ZSL mean class accuracy on the unseen classes, GZSL seen /
  unseen / harmonic mean (bias detector calibrated on held-out seen videos), cluster purity (eq. 7) of the training
  videos before and after training. Mean ± std over draws; paired per-draw differences; verdicts by
  `method_claims`' rule; the claim rows join its table (``PLUGINS``).

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/claster_claims.py
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/claster_claims.py --table-only

Each arm x draw x setting is stored as JSON under ``--runs`` when it finishes and skipped on a rerun.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if "method_claims" not in sys.modules:  # the shared storage, verdicts and table (also when imported by the tests)
    _spec = importlib.util.spec_from_file_location("method_claims", ROOT / "benchmarks" / "method_claims.py")
    sys.modules["method_claims"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["method_claims"])
mc = sys.modules["method_claims"]
Arm, Claim, Comparison, Suite = mc.Arm, mc.Claim, mc.Comparison, mc.Suite

README_START, README_END = "<!-- claster_claims:start -->", "<!-- claster_claims:end -->"
SELECT_SEED = 100  # the selection runs' storage key (validation world, averaged over its draws)
LR_GRID = ("1e-4", "1e-3")  # Adam rate of the MLPs (the paper: 1e-4)
SGD_GRID = tuple(f"{lr}/c{c}" for lr in LR_GRID for c in ("1e-3", "1e-2", "1e-1"))  # w/o RL: + the centroids' rate
ARMS = {
    "no_clustering": Arm("No clustering (omega = psi)", {"ablation": "no_clustering"}, LR_GRID),
    "random_clustering": Arm("Random clustering (K = 6)", {"ablation": "random_clustering"}, LR_GRID),
    "kmeans": Arm("K-means (K = 6), centroids fixed", {"ablation": "kmeans"}, LR_GRID),
    "without_semantic_embeddings": Arm("CLASTER w/o SE (visual-only clustering)", {"ablation": "without_semantic_embeddings"}, LR_GRID),
    "without_rl": Arm("CLASTER w/o RL (centroids trained by the loss)", {"ablation": "without_rl"}, SGD_GRID),
    "claster": Arm("CLASTER (REINFORCE centroids)", {"ablation": "claster"}, LR_GRID),
}
PAPER = "CLASTER (Gowda et al., Table 1 / Sec. 5.6, UCF-101)"
CLAIMS = {
    "claster_over_kmeans_and_sgd": Claim(
        PAPER,
        "REINFORCE-optimised centroids beat K-means centroids and centroids trained by the loss (w/o RL) on ZSL accuracy",
        "ZSL: K-means 35.3 ± 3.9, w/o RL 39.1 ± 3.2, CLASTER 46.4 ± 5.1",
        (Comparison("claster", "kmeans", "zsl_accuracy", "higher"), Comparison("claster", "without_rl", "zsl_accuracy", "higher")),
    ),
    "claster_order": Claim(
        PAPER,
        "the ablation order random < no clustering < K-means < w/o RL on ZSL accuracy",
        "ZSL: random 24.1, none 31.6, K-means 35.3, w/o RL 39.1",
        (
            Comparison("no_clustering", "random_clustering", "zsl_accuracy", "higher"),
            Comparison("kmeans", "no_clustering", "zsl_accuracy", "higher"),
            Comparison("without_rl", "kmeans", "zsl_accuracy", "higher"),
        ),
    ),
    "claster_semantic": Claim(
        PAPER,
        "clustering the visual-semantic representation beats clustering visual features alone",
        "ZSL: CLASTER w/o SE 39.4 ± 4.4, CLASTER 46.4 ± 5.1",
        (Comparison("claster", "without_semantic_embeddings", "zsl_accuracy", "higher"),),
    ),
    "claster_purity": Claim(
        PAPER,
        "RL makes the clusters purer than K-means leaves them",
        "purity of the training videos: K-means 0.77, after RL 0.89",
        (Comparison("claster", "kmeans", "train_purity", "higher"),),
    ),
}
SCORE_KEYS = (
    "zsl_accuracy", "gzsl_harmonic_mean", "gzsl_seen_accuracy", "gzsl_unseen_accuracy", "train_purity_before",
    "train_purity", "unseen_purity",
)
SUITE = Suite(ARMS, CLAIMS, SCORE_KEYS, ("validation_zsl", "validation_gzsl"))
COLUMNS = (
    ("zsl_accuracy", "ZSL %", 1), ("gzsl_harmonic_mean", "GZSL H", 1), ("gzsl_seen_accuracy", "GZSL seen", 1),
    ("gzsl_unseen_accuracy", "GZSL unseen", 1), ("train_purity_before", "purity before", 2), ("train_purity", "purity after", 2),
)


def parse_setting(setting: str) -> tuple[float, float | None]:
    """``"1e-4"`` -> (1e-4, None); ``"1e-4/c1e-2"`` -> (1e-4, 1e-2): the MLPs' and the centroids' learning rates."""
    lr, _, centroid = setting.partition("/c")
    return float(lr), (float(centroid) if centroid else None)


class ClasterBench:
    def __init__(self, args):
        import torch

        from hf_vidcap.data import generate_shapes_action_dataset
        from hf_vidcap.encoders import load_sentence_embedder

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))
        self.args = args
        self.worlds = {
            "test": generate_shapes_action_dataset(Path(args.data_dir) / "test", clips_per_class=args.clips_per_class, seed=0),
            "validation": generate_shapes_action_dataset(Path(args.data_dir) / "validation", clips_per_class=args.clips_per_class, seed=1),
        }
        self.embedder = load_sentence_embedder()
        self._splits: dict = {}

    def splits(self, world: str, draw: int) -> dict:
        """The draw's splits with video features from its seen-class encoder (trained once, then read from disk)."""
        import torch

        from hf_vidcap.data import load_action_dataset
        from hf_vidcap.encoders import VideoFeatureExtractor, save_tiny_video_encoder, train_video_classifier

        if (world, draw) in self._splits:
            return self._splits[(world, draw)]
        args = self.args
        root = self.worlds[world]
        loaded = {s: load_action_dataset("folder", s, data_dir=root, zero_shot_draw=draw) for s in ("train", "test_seen", "test_unseen")}
        parts = loaded["train"].train_test_split(test_size=0.1, seed=draw)
        splits = {"train": parts["train"], "held_out": parts["test"], "test_seen": loaded["test_seen"], "test_unseen": loaded["test_unseen"]}
        encoder_dir = Path(args.workdir) / world / f"draw{draw}" / "video_encoder"
        record = encoder_dir / "encoder.json"
        if not record.exists():
            from transformers import AutoModelForVideoClassification, AutoVideoProcessor

            start = time.perf_counter()
            save_tiny_video_encoder(encoder_dir, hidden_size=args.encoder_hidden_size, seed=draw)
            seen = sorted(set(splits["train"]["label"]))
            torch.manual_seed(draw)
            model = AutoModelForVideoClassification.from_pretrained(encoder_dir, num_labels=len(seen), ignore_mismatched_sizes=True)
            processor = AutoVideoProcessor.from_pretrained(encoder_dir)
            report = train_video_classifier(model, processor, splits["train"], steps=args.encoder_steps, learning_rate=args.encoder_lr, seed=draw)
            model.save_pretrained(encoder_dir)
            with torch.no_grad():  # the classifier's own accuracy on the held-out seen videos
                from hf_vidcap.data.video import decode_video

                videos = splits["held_out"].cast_column("video", _undecoded())["video"]
                pixels = processor(videos=[decode_video(v, 8) for v in videos], return_tensors="pt")["pixel_values"]
                predicted = model(pixel_values=pixels).logits.argmax(-1).tolist()
            position = {c: i for i, c in enumerate(report["classes"])}
            report["held_out_accuracy"] = statistics.mean(p == position[c] for p, c in zip(predicted, splits["held_out"]["label"]))
            report["seconds"] = time.perf_counter() - start
            record.write_text(json.dumps(report, indent=2) + "\n")
            print(f"[{world} draw {draw}] encoder on {len(seen)} seen classes: train {report['train_accuracy']:.3f}, held-out {report['held_out_accuracy']:.3f}", flush=True)
        extractor = VideoFeatureExtractor.from_pretrained(encoder_dir, cache_dir=Path(args.workdir) / "feature_cache", batch_size=32)
        splits = {name: extractor.add_to_dataset(split) for name, split in splits.items()}
        splits["encoder"] = json.loads(record.read_text())
        self._splits[(world, draw)] = splits
        return splits

    def train(self, splits: dict, arm: str, setting: str, seed: int, keep_projection: bool = False) -> dict:
        import tempfile

        import torch

        from hf_vidcap.models import ClasterConfig, ClasterForZeroShotVideoClassification
        from hf_vidcap.trainer import CLASTER_ABLATIONS, ClasterTrainer, ClasterTrainingConfig

        args = self.args
        model_settings, train_settings = CLASTER_ABLATIONS[ARMS[arm].settings["ablation"]]
        lr, centroid_lr = parse_setting(setting)
        names = splits["train"].features["label"].names
        torch.manual_seed(seed)
        config = ClasterConfig(
            visual_size=len(splits["train"][0]["video_features"]), semantic_size=self.embedder.embedding_size, hidden_size=args.hidden_size,
            num_clusters=6, rectification_neighbors=3, class_names=names, seen_classes=sorted(set(splits["train"]["label"])), **model_settings,
        )
        model = ClasterForZeroShotVideoClassification(config)
        model.set_class_embeddings(self.embedder.encode(names))
        steps = args.steps
        training = ClasterTrainingConfig(
            tempfile.mkdtemp(prefix="claster_"), max_steps=steps, learning_rate=lr, centroid_sgd_learning_rate=centroid_lr,
            centroid_milestones=[steps // 10, steps // 5], per_device_train_batch_size=32, use_cpu=True, disable_tqdm=True,
            logging_steps=max(1, steps // 4), seed=seed, **train_settings,
        )
        trainer = ClasterTrainer(model, training, train_dataset=splits["train"], eval_dataset=splits["held_out"])
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        result = trainer.evaluate_zero_shot(splits["test_unseen"], splits["test_seen"])
        result["train_purity_before"] = trainer.preparation.get("purity_before", float("nan"))
        result["train_purity"] = trainer.preparation.get("purity_after", float("nan"))
        out = {"scores": result, "train_seconds": seconds}
        if keep_projection:
            out["projection"] = unseen_projection(model, splits["test_unseen"])
        return out

    def run_arm(self, draw: int, arm: str, setting: str) -> dict:
        """One stored run: the selection record (SELECT_SEED: mean over the validation world's draws) or one test
        draw."""
        path = mc.run_path(Path(self.args.runs), WORLD, draw, arm, setting)
        if path.exists():
            return json.loads(path.read_text())
        if draw == SELECT_SEED:
            runs = [self.train(self.splits("validation", d), arm, setting, seed=d) for d in self.args.validation_draws]
            scores = [r["scores"] for r in runs]
            result = {
                "seed": draw, "arm": arm, "learning_rate": setting, "validation_draws": self.args.validation_draws,
                "validation_zsl": statistics.mean(s["zsl_accuracy"] for s in scores),
                "validation_gzsl": statistics.mean(s["gzsl_harmonic_mean"] for s in scores),
                "per_draw": scores, "train_seconds": sum(r["train_seconds"] for r in runs),
            }
        else:
            splits = self.splits("test", draw)
            run = self.train(splits, arm, setting, seed=draw, keep_projection=draw == 0 and arm in ("kmeans", "claster"))
            result = {"seed": draw, "arm": arm, "learning_rate": setting, "test": _finite(run["scores"]), "train_seconds": run["train_seconds"], "encoder": splits["encoder"]}
            if "projection" in run:
                result["projection"] = run["projection"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        shown = result.get("test", {"zsl_accuracy": result.get("validation_zsl", 0.0), "gzsl_harmonic_mean": result.get("validation_gzsl", 0.0)})
        print(f"[draw {draw}] {arm}@{setting}: ZSL {shown['zsl_accuracy']:.1f}, GZSL H {shown['gzsl_harmonic_mean']:.1f}", flush=True)
        return result


WORLD = 1  # the shapes action world's version in the run paths


def _undecoded():
    import datasets

    return datasets.Video(decode=False)


def _finite(scores: dict) -> dict:
    """The scores without NaN: an arm without centroids has no purity (the table shows '–')."""
    return {k: v for k, v in scores.items() if v == v}


def unseen_projection(model, unseen) -> dict:
    """Fig. 4: the 2-D PCA of the unseen test videos' CLASTER representations omega, with their classes."""
    import torch

    features = torch.tensor(unseen["video_features"])
    with torch.no_grad():
        omega = model(features, return_dict=True).representation
    centred = omega - omega.mean(dim=0)
    _, _, v = torch.pca_lowrank(centred, q=2, center=False)
    points = centred @ v[:, :2]
    return {"x": points[:, 0].tolist(), "y": points[:, 1].tolist(), "label": [int(c) for c in unseen["label"]]}


# ------------------------------------------------------------------------------------------------------- the table


def markdown(table: dict, settings: dict) -> str:
    draws = table["seeds"]
    lines = [
        "### CLASTER's ablation (Table 1) on the shapes action world (`benchmarks/claster_claims.py`)",
        "",
        f"31 shape x action classes, {settings['clips_per_class']} clips each; 50/50 seen/unseen draws {draws} of the test "
        f"world (mean ± std over draws; differences paired per draw). Features: a tiny VideoMAE (d {settings['encoder_hidden_size']}) "
        f"fine-tuned {settings['encoder_steps']} steps per draw on that draw's seen classes only; class names embedded with "
        f"all-MiniLM-L6-v2. Every arm: {settings['steps']} steps x 32 videos (equal work), K = 6, hidden {settings['hidden_size']}; "
        f"learning rates chosen on a separate validation world (draws {settings['validation_draws']}, mean ZSL), never on the "
        "test draws. ZSL: mean class accuracy on the unseen classes (%); GZSL: harmonic mean of seen and unseen mean class "
        "accuracy with the calibrated bias detector; purity (eq. 7) of the training videos' nearest centroids.",
        "",
        *mc.claim_lines(table),
        "",
        "| arm | lr (validation ZSL per setting) | draws | " + " | ".join(c[1] for c in COLUMNS) + " |",
        "|---|---|---|" + "---|" * len(COLUMNS),
    ]
    for name, arm in table["arms"].items():
        grid = arm.get("validation_grid") or {}
        setting = f"{arm['learning_rate'] or 'pending'} (" + ", ".join(f"{k}: {'–' if v is None else f'{v:.1f}'}" for k, v in grid.items()) + ")"
        cells = [mc._pm(arm["test"].get(key), digits) for key, _, digits in COLUMNS]
        lines.append(f"| {name}: {arm['label']} | {setting} | {len(arm['seeds'])} | " + " | ".join(cells) + " |")
    if table["missing"]:
        lines += ["", "Not run yet: " + "; ".join(table["missing"]) + "."]
    compute = table["compute"]
    lines += [
        "",
        f"Compute: {compute['runs']} stored runs, {compute['seconds'] / 60:.0f} min of CLASTER training on 2 CPU cores (the "
        "per-draw encoder fine-tuning and feature extraction not counted). Rerun: `HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 "
        ".venv/bin/python benchmarks/claster_claims.py` (stored runs in `benchmarks/results/claster_claims/` are skipped).",
        "",
    ]
    return "\n".join(lines)


def plot(table: dict, path: Path, runs: Path | None = None) -> None:
    """ZSL accuracy and purity per arm, and Fig. 4: draw 0's unseen test videos (2-D PCA of omega, one colour per
    class) with K-means centroids and after RL."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = [a for a in table["arms"] if table["arms"][a]["seeds"]]
    figure, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    for ax, (key, title) in zip(axes[:2], (("zsl_accuracy", "test ZSL mean class accuracy %"), ("train_purity", "purity after training"))):
        shown = [a for a in arms if key in table["arms"][a]["test"]]
        stats = [table["arms"][a]["test"][key] for a in shown]
        ax.bar(shown, [s["mean"] for s in stats], yerr=[s["std"] for s in stats], capsize=3, color="tab:blue")
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    for ax, arm in zip(axes[2:], ("kmeans", "claster")):
        setting = table["arms"].get(arm, {}).get("learning_rate")
        run = mc.load_run(mc.run_path(runs, WORLD, 0, arm, setting)) if runs is not None and setting else None
        if run and "projection" in run:
            p = run["projection"]
            ax.scatter(p["x"], p["y"], c=p["label"], cmap="tab20", s=6)
        ax.set_title(f"draw 0 unseen videos, omega ({'K-means' if arm == 'kmeans' else 'after RL'})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, nargs="+", default=list(range(10)), help="test-world draws (the paper: 10)")
    parser.add_argument("--validation-draws", type=int, nargs="+", default=[100, 101], help="validation-world draws choosing the rates")
    parser.add_argument("--claims", nargs="+", default=list(CLAIMS), choices=list(CLAIMS))
    parser.add_argument("--steps", type=int, default=3000, help="training steps of every arm")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--clips-per-class", type=int, default=30)
    parser.add_argument("--encoder-hidden-size", type=int, default=64)
    parser.add_argument("--encoder-steps", type=int, default=1500)
    parser.add_argument("--encoder-lr", type=float, default=1e-3)
    parser.add_argument("--data-dir", default="data/claster_actions")
    parser.add_argument("--runs", default="benchmarks/results/claster_claims", help="one JSON per arm x draw x setting")
    parser.add_argument("--workdir", default="outputs/claster_claims", help="encoders and the feature cache")
    parser.add_argument("--output", default="benchmarks/results/claster_claims")
    parser.add_argument("--table-only", action="store_true", help="rebuild the table from stored runs")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README sections")
    args = parser.parse_args(argv)

    keys = ("steps", "hidden_size", "clips_per_class", "encoder_hidden_size", "encoder_steps", "encoder_lr", "validation_draws")
    settings = {k: getattr(args, k) for k in keys}
    arms = sorted({name for c in args.claims for comp in CLAIMS[c].comparisons for name in (comp.a, comp.b)})
    if not args.table_only:
        bench = ClasterBench(args)
        for arm in arms:
            for setting in ARMS[arm].learning_rates:
                bench.run_arm(SELECT_SEED, arm, setting)
        for draw in args.draws:
            for arm in arms:
                bench.run_arm(draw, arm, mc.chosen_lr(Path(args.runs), WORLD, SELECT_SEED, arm, SUITE))
    table = mc.build_table(Path(args.runs), WORLD, args.draws, args.claims, SELECT_SEED, SUITE)
    text = mc.write_outputs(
        table, settings, args.output, None if args.no_readme else ROOT / "README.md", markdown,
        lambda t, p: plot(t, p, Path(args.runs)), (README_START, README_END),
    )
    print(text)
    if not args.no_readme and Path(args.output) == Path("benchmarks/results/claster_claims"):
        mc.main(["--table-only"])  # the method-claims table picks up these claim rows


if __name__ == "__main__":
    sys.exit(main())

"""WTF-RL's ablation (Table 1) on the shapes world with near-duplicate twins: distinctive captioning by RL with the
bidirectional contrastive reward and a discriminator, with and without weighted teacher forcing, against continued
teacher forcing.

Setting (the paper's protocol, shrunk to the synthetic world):

- **World**: shapes v2 where half the clips get a near-duplicate twin in the same split (same placement and motion,
  one of colour / shape / size / action changed) and each reference caption names the action with probability
  0.5 and the size only sometimes: a teacher-forced captioner learns the generic captions, which do not tell
  twins apart (COCO's "overly generic ground truth").
- **Retriever**: the shapes CLIP stand-in (`hf_vidcap.encoders.shapes_standins`, trained once on a separate
  pretraining world; the one `regen_claims.py` uses): the contrastive reward's CLIP, the discriminator's text
  encoder and the fixed retriever of the evaluation, as CLIP is in the paper.
- **Captioner**: a tiny `OFAForConditionalGeneration` (2 + 2 layers, d 64; frames followed by their differences,
  concatenated as image tokens) whose ResNet-50 stem is frozen at its seeded random weights, its BatchNorm
  statistics estimated once on training frames (`calibrate_batch_norm`; the stand-in for a pretrained backbone; its
  features are cached on disk), and everything else trains (training the stem on 2 CPU cores costs ~9 s per step). Per seed: teacher forcing (TF)
  on the training captions until validation CIDEr-D stops improving; the best validation step is the checkpoint
  every arm of that seed starts from.
- **Arms** (``--steps`` steps x 32 videos each, from the TF checkpoint): the paper's WTF (ground-truth trajectories
  only), WTF-RL (beam + ground truth, eq. 3), RL (beam only), RL-Unidirectional (r_i2t only) and SCST-Discriminator
  (CLIP score with the greedy caption as baseline), all with r = 0.94 r_sim + 0.06 P_D, the beam-searched caption (3
  beams), tau 0.01, 3 mined similar videos per batch video from a bank of the training split, the discriminator (a
  3-layer MLP on the CLIP text embedding) pre-trained on ground truth vs the TF model's beams and updated every
  step. Control: TF continued for the same steps with one reference caption per video (the WTF arms' ground-truth
  trajectory count). Equal work: every arm sees the same videos for the same number of steps.
- **Selection** on the validation split of ``--select-seed``: each arm's learning rate maximises mean R@1 of the two
  retrieval directions, then CIDEr-D.
- **Test** (greedy captions): text-to-video and video-to-text R@1/5/10 among the test clips (twins included: each
  is the other's hardest negative) with the fixed retriever, BLEU-4, ROUGE-L, CIDEr-D, METEOR, Self-BLEU-4, the
  share of twin pairs captioned differently, mean length.

The verdicts use `method_claims`' rule, and the claim rows join its table (``PLUGINS``)::

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/wtf_claims.py --seeds 0 1 2
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/wtf_claims.py --table-only

Each arm x seed x learning rate is stored as JSON under ``--runs`` when it finishes and skipped on a rerun.
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

README_START, README_END = "<!-- wtf_claims:start -->", "<!-- wtf_claims:end -->"
ALPHA = 0.94  # r = alpha * r_sim + (1 - alpha) * P_D (Sec. 4.1)
RL_GRID = (3e-6, 1e-5, 3e-5)  # the paper trains OFA-tiny at 1e-6; at 3e-5 RL already reward-hacks the stand-in (seed 0: CIDEr-D 0.06)
RL = {"rollout": "beam", "num_beams": 3, "num_generations": 1, "xe_captions_per_video": 1}
ARMS = {
    "tf": Arm("TF checkpoint (best validation step)"),
    "tf_continued": Arm("TF continued (control), 1 reference per video", {"xe_only": True, "xe_captions_per_video": 1}, (1e-3, 1e-4)),
    "wtf": Arm("WTF: ground-truth trajectories weighted by r", {**RL, "rewards": "contrastive", "baseline": "none", "policy_weight": 0.0, "teacher_forcing_weight": 1.0}, RL_GRID),
    "wtf_rl": Arm("WTF-RL: beam + ground-truth trajectories (eq. 3)", {**RL, "rewards": "contrastive", "baseline": "none", "teacher_forcing_weight": 1.0}, RL_GRID),
    "rl": Arm("RL: beam trajectories, bidirectional reward", {**RL, "rewards": "contrastive", "baseline": "none"}, RL_GRID),
    "rl_unidirectional": Arm("RL - Unidirectional: r_i2t only", {**RL, "rewards": "contrastive_i2t", "baseline": "none"}, RL_GRID),
    "scst_discriminator": Arm("SCST - Discriminator: CLIP score, greedy baseline", {**RL, "rewards": "clip_score", "baseline": "beam_vs_greedy"}, RL_GRID),
}
PAPER = "WTF-RL (Chaffin et al., Table 1, OFA-tiny on COCO)"
CLAIMS = {
    "wtf_rl_retrieval": Claim(
        PAPER,
        "RL and WTF-RL raise text-to-video R@1 far above teacher forcing",
        "T2I R@1: TF 17.14, WTF-RL 33.82, RL 35.24",
        (
            Comparison("wtf_rl", "tf", "t2v_r1", "higher"), Comparison("rl", "tf", "t2v_r1", "higher"),
            Comparison("wtf_rl", "tf_continued", "t2v_r1", "higher"), Comparison("rl", "tf_continued", "t2v_r1", "higher"),
        ),
    ),
    "wtf_rl_quality": Claim(
        PAPER,
        "weighted teacher forcing keeps WTF-RL's writing quality above RL's",
        "CIDEr: WTF-RL 86.22, RL 76.06; BLEU-4 24.61 vs 21.59",
        (Comparison("wtf_rl", "rl", "cider_d", "higher"),),
    ),
    "wtf_alone": Claim(
        PAPER,
        "WTF alone gains some retrieval at no writing cost and lowers Self-BLEU",
        "T2I R@1 17.14 -> 20.52, CIDEr 109 -> 110.2, Self-BLEU 70.49 -> 61.45 (TF -> WTF)",
        (
            Comparison("wtf", "tf_continued", "t2v_r1", "higher"),
            Comparison("wtf", "tf_continued", "cider_d", "not_worse"),
            Comparison("wtf", "tf_continued", "self_bleu_4", "lower"),
        ),
    ),
    "wtf_bidirectional": Claim(
        PAPER,
        "the bidirectional contrastive reward beats the unidirectional one on text-to-video R@1",
        "T2I R@1: RL 35.24, RL - Unidirectional 31.52",
        (Comparison("rl", "rl_unidirectional", "t2v_r1", "higher"),),
    ),
    "wtf_batch_baselines": Claim(
        PAPER,
        "the strongest caption of the batch as baseline writes better than the greedy caption alone (SCST)",
        "CIDEr: RL - Unidirectional 78.53, SCST - Discriminator 46.21",
        (Comparison("rl_unidirectional", "scst_discriminator", "cider_d", "higher"),),
    ),
}
SCORE_KEYS = (
    "t2v_r1", "t2v_r5", "t2v_r10", "v2t_r1", "v2t_r5", "v2t_r10", "bleu_4", "rouge_l", "cider_d", "meteor",
    "self_bleu_4", "twins_distinct", "length",
)
SUITE = Suite(ARMS, CLAIMS, SCORE_KEYS, ("validation_r1", "validation_cider_d"))
COLUMNS = (
    ("t2v_r1", "T2V R@1", 1), ("t2v_r5", "T2V R@5", 1), ("t2v_r10", "T2V R@10", 1), ("v2t_r1", "V2T R@1", 1),
    ("v2t_r5", "V2T R@5", 1), ("v2t_r10", "V2T R@10", 1), ("bleu_4", "B4", 3), ("rouge_l", "R-L", 3),
    ("cider_d", "CIDEr-D", 3), ("meteor", "METEOR", 3), ("self_bleu_4", "Self-BLEU-4", 3),
    ("twins_distinct", "twins distinct %", 1), ("length", "words", 1),
)


# ------------------------------------------------------------------------------------------------------- scoring


def wtf_scores(captions: list[str], columns: dict, metrics: tuple = ("cider_d", "bleu", "rouge_l", "meteor")) -> dict:
    """The table's columns for one caption per clip, with the clips' ``columns`` (``captions``, ``video_id``,
    ``pair_id`` and the retriever's ``video_embedding``). Recalls and the twin share in percent."""
    import torch

    from hf_vidcap.evaluation import score_captions
    from hf_vidcap.metrics import distinct_twin_pairs, retrieval_recall, self_bleu
    from hf_vidcap.metrics.text import normalize_caption

    quality = score_captions(captions, columns["captions"], metrics)
    scores = {key: quality[key] for key in ("cider_d", "bleu_4", "rouge_l", "meteor") if key in quality}
    text = columns["text_embedding"]
    videos = torch.nn.functional.normalize(torch.stack(columns["video_embedding"]), dim=-1)
    recall = retrieval_recall(text @ videos.T)
    for direction in ("t2v", "v2t"):
        for k in (1, 5, 10):
            scores[f"{direction}_r{k}"] = recall[f"{direction}_recall@{k}"]
    scores["self_bleu_4"] = self_bleu([normalize_caption(c) for c in captions], 4)
    scores["twins_distinct"] = distinct_twin_pairs(captions, columns["video_id"], columns["pair_id"])
    scores["length"] = statistics.mean(len(c.split()) for c in captions)
    scores["examples"] = captions[:6]
    return scores


# ------------------------------------------------------------------------------------------------------ training


def calibrate_batch_norm(stem, processor, split, collator, num_clips: int = 256, batch_size: int = 32) -> None:
    """Estimate the frozen random ResNet stem's BatchNorm statistics once on training frames (and their
    differences): the cumulative mean and variance of each layer over ``num_clips`` clips, in place of the 0 / 1
    of a fresh initialisation, whose features share a large constant component that hides what differs between
    clips. The stem then stays frozen in eval mode (the trainer keeps frozen towers in eval mode)."""
    import torch

    norms = [m for m in stem.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the calibration batches
    stem.train()
    with torch.no_grad():
        for start in range(0, min(num_clips, len(split)), batch_size):
            batch = collator([split[i] for i in range(start, min(start + batch_size, num_clips, len(split)))])
            stem(batch["pixel_values"].flatten(0, 1))
    for norm in norms:
        norm.momentum = 0.1
    stem.eval()



class WTFBench:
    def __init__(self, args):
        import torch

        from hf_vidcap.data import ShapesWorldConfig, generate_shapes_dataset, load_shapes_dataset
        from hf_vidcap.encoders import load_clip_embedder
        from hf_vidcap.encoders.shapes_standins import train_shapes_clip
        from hf_vidcap.rewards import VideoBank, get_cider_d_reward

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))  # one per process when several run
        self.args = args
        world = ShapesWorldConfig(
            num_train=args.num_train, num_validation=args.num_validation, num_test=args.num_test, seed=0, num_frames=8,
            action_caption_prob=args.action_caption_prob, near_duplicate_prob=args.near_duplicate_prob,
        )
        self.world = world.version
        self.dataset = load_shapes_dataset(generate_shapes_dataset(args.data_dir, world))
        print("CLIP stand-in (trained once, then read from disk)", flush=True)
        self.standin = train_shapes_clip(Path(args.clip_dir), world_dir=args.pretraining_dir, num_clips=args.pretraining_clips, steps=args.clip_steps)
        self.embedder = load_clip_embedder(args.clip_dir)
        self.cider = get_cider_d_reward(self.dataset["train"]["captions"])
        print("video bank of the training split (mined hard negatives)", flush=True)
        self.bank = VideoBank.from_dataset(self.embedder, self.dataset["train"], num_frames=4, show_progress=False)
        self._video_embeddings: dict = {}

    def config(self, out: str, **kwargs):
        from hf_vidcap.trainer import VideoSCSTConfig

        defaults = dict(
            output_dir=out, use_cpu=True, per_device_train_batch_size=32, per_device_eval_batch_size=100, num_frames=4,
            lr_scheduler_type="constant", max_completion_length=16, save_strategy="no", logging_steps=100,
            disable_tqdm=True, report_to="none", cache_video_features=True,
            feature_cache_dir=str(Path(self.args.workdir) / "feature_cache"),
        )
        return VideoSCSTConfig(**{**defaults, **kwargs})

    def collator(self, processor):
        from hf_vidcap.data import VideoCaptionCollator

        return VideoCaptionCollator(processor, num_frames=4)

    def score(self, model, processor, split_name: str) -> dict:
        """Greedy captions of a split, scored; the retriever's video embeddings are computed once per split."""
        from hf_vidcap.evaluation import generate_for_dataset

        split = self.dataset[split_name]
        first = split_name not in self._video_embeddings
        captions, columns = generate_for_dataset(
            model, processor, split, self.collator(processor), batch_size=100, show_progress=False,
            video_embedder=self.embedder if first else None,
        )
        if first:
            self._video_embeddings[split_name] = columns["video_embedding"]
        columns["video_embedding"] = self._video_embeddings[split_name]
        columns["text_embedding"] = self.embedder.encode_text(captions)
        metrics = ("cider_d", "bleu", "rouge_l", "meteor") if split_name == "test" else ("cider_d",)
        return wtf_scores(captions, columns, metrics)

    def _score_and_store(self, path: Path, model, processor, seed: int, **fields) -> dict:
        validation = self.score(model, processor, "validation")
        result = {
            "seed": seed, **fields, "validation_r1": (validation["t2v_r1"] + validation["v2t_r1"]) / 2,
            "validation_cider_d": validation["cider_d"], "test": self.score(model, processor, "test"),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        return result

    def _load(self, checkpoint: Path):
        from hf_vidcap.models import OFAForConditionalGeneration, OFAProcessor

        processor = OFAProcessor.from_pretrained(checkpoint)
        model = OFAForConditionalGeneration.from_pretrained(checkpoint)
        model.model.encoder.image_backbone.requires_grad_(False)
        return model, processor

    def tf_checkpoint(self, seed: int) -> Path:
        """The best-validation teacher-forced checkpoint of ``seed`` (trained once, then read from the work directory)."""
        import torch

        from hf_vidcap.data import build_shapes_tokenizer
        from hf_vidcap.models import OFAProcessor, create_tiny_ofa
        from hf_vidcap.trainer import VideoSCSTTrainer

        args = self.args
        checkpoint = Path(args.workdir) / f"world{self.world}" / f"seed{seed}" / "tf_best"
        record = mc.run_path(Path(args.runs), self.world, seed, "tf")
        if (checkpoint / "model.safetensors").exists() and record.exists():
            return checkpoint
        print(f"[seed {seed}] teacher forcing until validation CIDEr-D plateaus", flush=True)
        torch.manual_seed(seed)
        processor = OFAProcessor(build_shapes_tokenizer(), image_size=64, frame_differences="append", prompt="")
        model = create_tiny_ofa(processor.tokenizer, image_size=64, d_model=args.d_model)
        calibrate_batch_norm(model.model.encoder.image_backbone, processor, self.dataset["train"], self.collator(processor))
        model.model.encoder.image_backbone.requires_grad_(False)  # frozen (random) backbone: features cached
        best = mc.best_validation_callback(args.patience, args.min_delta)
        tf_args = self.config(
            str(checkpoint.parent / "tf_run"), seed=seed, learning_rate=args.tf_lr, max_steps=args.tf_max_steps,
            xe_warmup_steps=args.tf_max_steps, xe_captions_per_video=4, eval_strategy="steps", eval_steps=args.eval_steps,
        )
        trainer = VideoSCSTTrainer(model, self.cider, tf_args, self.dataset["train"], self.dataset["validation"], processor, self.collator(processor), callbacks=[best])
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        model.load_state_dict(best.best_state)
        model.save_pretrained(checkpoint)
        processor.save_pretrained(checkpoint)
        result = self._score_and_store(
            record, model, processor, seed, tf_steps=trainer.state.global_step, best_step=best.best_step, curve=best.history,
            train_seconds=seconds,
        )
        print(f"[seed {seed}] TF: best step {best.best_step} of {trainer.state.global_step}; {_brief(result)}", flush=True)
        return checkpoint

    def discriminator_state(self, seed: int, model, processor) -> dict:
        """The discriminator pre-trained on ground truth vs the TF checkpoint's beams (per seed, cached on disk)."""
        import torch


        path = Path(self.args.workdir) / f"world{self.world}" / f"seed{seed}" / "discriminator.pt"
        if path.exists():
            return torch.load(path, weights_only=False)
        reward = self._new_discriminator(seed)
        report = reward.pretrain_on_captioner(
            model, processor, self.dataset["train"], num_beams=3, max_new_tokens=16, epochs=5, batch_size=128, seed=seed,
            num_frames=4, collator=self.collator(processor), show_progress=False,
        )
        print(f"[seed {seed}] discriminator pre-trained: balanced accuracy {report['accuracy_before']:.3f} -> {report['accuracy_after']:.3f}", flush=True)
        state = {"state": reward.state_dict(), "report": {k: v for k, v in report.items() if k != "history"}}
        torch.save(state, path)
        return state

    def _new_discriminator(self, seed: int):
        from hf_vidcap.rewards import get_discriminator_reward

        return get_discriminator_reward(self.embedder, hidden_size=128, num_layers=3, learning_rate=self.args.discriminator_lr, seed=seed)

    def rewards(self, kind: str, seed: int, model, processor) -> list:
        from hf_vidcap.rewards import get_clip_score_reward, get_contrastive_reward

        if kind == "clip_score":
            similarity = get_clip_score_reward(self.embedder, weight=1.0)
        else:
            similarity = get_contrastive_reward(
                self.embedder, temperature=0.01, bidirectional=kind == "contrastive", video_bank=self.bank,
                num_mined=3 if kind == "contrastive" else 0,
            )
        discriminator = self._new_discriminator(seed)
        discriminator.load_state_dict(self.discriminator_state(seed, model, processor)["state"])
        return [similarity, discriminator]

    def run_arm(self, seed: int, arm: str, lr) -> dict:
        from hf_vidcap.trainer import VideoSCSTTrainer

        path = mc.run_path(Path(self.args.runs), self.world, seed, arm, lr)
        if path.exists():
            return json.loads(path.read_text())
        checkpoint = self.tf_checkpoint(seed)
        if arm == "tf":
            return json.loads(path.read_text())
        model, processor = self._load(checkpoint)
        settings = dict(ARMS[arm].settings)
        steps, out = self.args.steps, str(Path(self.args.workdir) / f"world{self.world}" / f"seed{seed}" / path.stem)
        print(f"[seed {seed}] {arm} at lr {mc.lr_name(lr)}, {steps} steps", flush=True)
        if settings.pop("xe_only", False):
            run_args = self.config(out, seed=seed, learning_rate=lr, max_steps=steps, xe_warmup_steps=steps, **settings)
            rewards = self.cider
        else:
            kind = settings.pop("rewards")
            rewards = self.rewards(kind, seed, model, processor)
            run_args = self.config(out, seed=seed, learning_rate=lr, max_steps=steps, reward_weights=[ALPHA, 1 - ALPHA], **settings)
        trainer = VideoSCSTTrainer(model, rewards, run_args, self.dataset["train"], None, processor, self.collator(processor))
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        result = self._score_and_store(path, model, processor, seed, arm=arm, learning_rate=mc.lr_name(lr), steps=trainer.state.global_step, train_seconds=seconds)
        print(f"[seed {seed}] {arm}@{mc.lr_name(lr)} ({seconds:.0f} s): {_brief(result)}", flush=True)
        return result


def _brief(result: dict) -> str:
    t = result["test"]
    return (
        f"validation R@1 {result['validation_r1']:.1f}; test T2V R@1 {t['t2v_r1']:.1f}, V2T R@1 {t['v2t_r1']:.1f}, "
        f"CIDEr-D {t['cider_d']:.3f}, Self-BLEU-4 {t['self_bleu_4']:.3f}, twins distinct {t['twins_distinct']:.0f}%, e.g. {t['examples'][:2]}"
    )


# ------------------------------------------------------------------------------------------------------- the table


def markdown(table: dict, settings: dict) -> str:
    seeds = table["seeds"]
    clip = settings.get("standin") or {}
    standin = (
        f" CLIP stand-in (validation on its own world): caption -> video R@1 {100 * clip['text_to_video_recall_at_1']:.0f}%."
        if "text_to_video_recall_at_1" in clip else ""
    )
    lines = [
        "### WTF-RL's ablation (Table 1) on the shapes world (`benchmarks/wtf_claims.py`)",
        "",
        f"Shapes world v{table['world_version']} with near-duplicate twins (p = {settings['near_duplicate_prob']}) and generic "
        f"captions (action named with p = {settings['action_caption_prob']}); {settings['num_train']} training clips plus "
        f"their twins. Tiny OFA (d {settings['d_model']}, frames + differences, frozen random ResNet-50 stem); the fixed "
        f"CLIP stand-in is the reward's CLIP, the discriminator's text encoder and the retriever. Per seed: teacher "
        f"forcing to the best validation CIDEr-D, then {settings['steps']} steps x 32 videos per arm (r = 0.94 r_sim + "
        f"0.06 P_D, 3 beams, tau 0.01, 3 mined videos). Learning rates chosen on seed {table['select_seed']}'s "
        f"validation R@1 (mean of both directions), then CIDEr-D. Test (greedy captions); mean ± std over seeds {seeds}; "
        f"verdicts as in the method-claims table.{standin}",
        "",
        *mc.claim_lines(table),
    ]
    lines += [
        "",
        "| arm | lr (validation R@1 per lr) | seeds | " + " | ".join(c[1] for c in COLUMNS) + " |",
        "|---|---|---|" + "---|" * len(COLUMNS),
    ]
    for name, arm in table["arms"].items():
        grid = arm.get("validation_grid")
        setting = "–" if not grid else f"{arm['learning_rate'] or 'pending'} (" + ", ".join(
            f"{k}: {'–' if v is None else f'{v:.1f}'}" for k, v in grid.items()) + ")"
        cells = [mc._pm(arm["test"].get(key), digits) for key, _, digits in COLUMNS]
        lines.append(f"| {name}: {arm['label']} | {setting} | {', '.join(map(str, arm['seeds'])) or '–'} | " + " | ".join(cells) + " |")
    if table["missing"]:
        lines += ["", "Not run yet: " + "; ".join(table["missing"]) + "."]
    compute = table["compute"]
    lines += [
        "",
        f"Compute: {compute['runs']} stored runs, {compute['seconds'] / 3600:.1f} h of training on 2 CPU cores (evaluation "
        "not counted). Rerun: `HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/wtf_claims.py --seeds "
        + " ".join(map(str, seeds)) + "` (stored runs in `benchmarks/results/wtf_claims/` are skipped).",
        "",
    ]
    return "\n".join(lines)


def plot(table: dict, path: Path) -> None:
    mc.plot_arm_panels(table, path, (("t2v_r1", "test text-to-video R@1 %"), ("cider_d", "test CIDEr-D"), ("self_bleu_4", "Self-BLEU-4")))


def write_outputs(table: dict, settings: dict, output: str, readme: Path | None = None) -> str:
    return mc.write_outputs(table, settings, output, readme, markdown, plot, (README_START, README_END))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--claims", nargs="+", default=list(CLAIMS), choices=list(CLAIMS))
    parser.add_argument("--select-seed", type=int, default=0, help="seed whose validation split chooses each arm's lr")
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps of every trained arm")
    parser.add_argument("--data-dir", default="data/shapes_wtf_benchmark")
    parser.add_argument("--pretraining-dir", default="data/shapes_pretraining", help="the CLIP stand-in's world")
    parser.add_argument("--pretraining-clips", type=int, default=2000, help="the CLIP stand-in's training clips")
    parser.add_argument("--clip-steps", type=int, default=1500, help="CLIP stand-in training steps")
    parser.add_argument("--clip-dir", default="outputs/regen_claims/shapes_clip", help="the CLIP stand-in (shared with regen_claims)")
    parser.add_argument("--num-train", type=int, default=1000)
    parser.add_argument("--num-validation", type=int, default=200)
    parser.add_argument("--num-test", type=int, default=300)
    parser.add_argument("--action-caption-prob", type=float, default=0.5)
    parser.add_argument("--near-duplicate-prob", type=float, default=0.5)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--tf-lr", type=float, default=1e-3)
    parser.add_argument("--tf-max-steps", type=int, default=4000)
    parser.add_argument("--eval-steps", type=int, default=250)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--min-delta", type=float, default=0.02)
    parser.add_argument("--discriminator-lr", type=float, default=1e-3)
    parser.add_argument("--runs", default="benchmarks/results/wtf_claims", help="one JSON per arm x seed x lr")
    parser.add_argument("--workdir", default="outputs/wtf_claims", help="TF checkpoints, discriminators, feature cache, trainer outputs")
    parser.add_argument("--output", default="benchmarks/results/wtf_claims")
    parser.add_argument("--table-only", action="store_true", help="rebuild the table from stored runs")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README sections")
    args = parser.parse_args(argv)

    keys = ("steps", "num_train", "num_validation", "num_test", "action_caption_prob", "near_duplicate_prob", "d_model", "tf_lr", "tf_max_steps", "eval_steps", "patience", "min_delta", "discriminator_lr")
    settings = {k: getattr(args, k) for k in keys}
    arms = sorted({name for c in args.claims for comp in CLAIMS[c].comparisons for name in (comp.a, comp.b)}) + ["tf"]
    if args.table_only:
        from hf_vidcap.data.shapes import SHAPES_WORLD_VERSION

        world = SHAPES_WORLD_VERSION
        record = Path(args.clip_dir) / "standin.json"
        if record.exists():
            settings["standin"] = json.loads(record.read_text())
    else:
        bench = WTFBench(args)
        world = bench.world
        settings["standin"] = bench.standin
        for arm in arms:
            for lr in ARMS[arm].learning_rates or [None]:
                bench.run_arm(args.select_seed, arm, lr)
        for seed in args.seeds:
            for arm in arms:
                bench.run_arm(seed, arm, mc.chosen_lr(Path(args.runs), world, args.select_seed, arm, SUITE))
    table = mc.build_table(Path(args.runs), world, args.seeds, args.claims, args.select_seed, SUITE)
    text = write_outputs(table, settings, args.output, None if args.no_readme else ROOT / "README.md")
    print(text)
    if not args.no_readme and Path(args.output) == Path("benchmarks/results/wtf_claims"):
        mc.main(["--table-only"])  # the method-claims table picks up these claim rows


if __name__ == "__main__":
    sys.exit(main())

"""ReGen's Table 1 pattern on the shapes world: a video captioner turned zero-shot action classifier by RL with
CLS-R, CLIP-R and GRAMMAR-R, against continued XE and a decoding-only control.

Setting (ReGen's protocol, shrunk to the synthetic world):

- **World**: shapes v2 with generic captions (each reference names the action with probability 0.4, ReGen's
  pseudo-captions). Base actions: moving left / up, growing, rotating, bouncing; novel (never rewarded, never
  labelled in training): moving right / down, shrinking, the antonyms of three base actions.
- **Stand-ins** for the pretrained models (`hf_vidcap.encoders.shapes_standins`, trained once on a separate
  pretraining world): a small CLIP (CLS-R, CLIP-R and the zero-shot evaluation) and a small masked LM (GRAMMAR-R and
  the pseudo-log-likelihood column).
- **Captioner**: a tiny `VideoGitForCausalLM` in ReGen's ``mean`` frame-fusion mode, frames + frame differences
  (the motion input FACTS.md found a tiny model needs to recognise actions). Per seed: XE on every training clip's
  captions (the captioning pre-training, which sees captions of all actions but no labels) until validation
  CIDEr-D stops improving; the best validation step is kept.
- **Arms**, each from that checkpoint: RL with the beam-searched caption (3 beams) against the greedy one
  (ReGen eq. 3), 32 base-class videos per step, ``--steps`` steps, rewards CLS-R (over the base class names, the
  clip's action as label) alone, + 5 CLIP-R, + 0.2 GRAMMAR-R, all three (ReGen's weights); the controls: XE
  continued for the same steps (4 references per video, the XE setting: more caption gradients per step than the
  RL arms' one) and decoding with EOS forbidden before m tokens (``min_new_tokens``; no training).
- **Selection** on the validation split (base classes only: no novel label is used to choose anything): each
  arm's learning rate (the decoding control's m) maximises base-class zero-shot top-1, then CIDEr-D; seed
  ``--select-seed``.
- **Test** (all 8 actions): novel ZSL top-1 (3-way over the novel names, on novel clips), GZSL over all 8 names
  (seen / unseen accuracy, harmonic mean H), base top-1 (5-way), CIDEr-D, BLEU-4, the masked LM's mean
  pseudo-log-likelihood (eq. 5), the share of captions the world's own caption grammar accepts
  (`is_shapes_caption_grammatical`: sees word order and repetition), the share naming the clip's action, mean
  length in words, and a teacher-forced probe of latent action recognition (`action_probe`).

The verdicts use `method_claims`' rule, and the claim rows join its table (``PLUGINS``)::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/regen_claims.py --seeds 0 1 2
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/regen_claims.py --table-only

Each arm x seed x setting is stored as JSON under ``--runs`` when it finishes and skipped on a rerun.
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

README_START, README_END = "<!-- regen_claims:start -->", "<!-- regen_claims:end -->"
REWARD_WEIGHTS = {"cls_r": 1.0, "clip_r": 5.0, "grammar_mlm": 0.2}  # ReGen Sec. 4
RL_GRID = (3e-5, 1e-4, 3e-4)
ARMS = {
    "xe": Arm("XE checkpoint (best validation step)"),
    "xe_continued": Arm("XE continued (control), 4 references per video", {"xe_only": True, "xe_captions_per_video": 4}, (1e-3, 1e-4)),
    "min_length": Arm("decoding control: EOS forbidden before m tokens (grid over m)", {"decode_only": True}, (4, 5, 6)),
    "cls_r": Arm("CLS-R", {"rewards": ("cls_r",)}, RL_GRID),
    "cls_r_clip_r": Arm("CLS-R + CLIP-R", {"rewards": ("cls_r", "clip_r")}, RL_GRID),
    "cls_r_grammar": Arm("CLS-R + GRAMMAR-R", {"rewards": ("cls_r", "grammar_mlm")}, RL_GRID),
    "regen": Arm("ReGen: CLS-R + CLIP-R + GRAMMAR-R", {"rewards": ("cls_r", "clip_r", "grammar_mlm")}, RL_GRID),
}
PAPER = "ReGen (Table 1, GIT)"
CLAIMS = {
    "regen_cls_r": Claim(
        PAPER,
        "CLS-R alone raises novel-class zero-shot top-1 above both controls, and lowers caption quality (CIDEr-D)",
        "HMDB-51 top-1 49.9 -> 55.0, UCF-101 71.6 -> 77.9; VaTeX CIDEr 39.1 -> 28.1 (REST init -> CLS-R)",
        (
            Comparison("cls_r", "xe_continued", "zsl_top1", "higher"),
            Comparison("cls_r", "min_length", "zsl_top1", "higher"),
            Comparison("cls_r", "xe", "cider_d", "lower"),
        ),
    ),
    "regen_clip_r": Claim(
        PAPER,
        "adding CLIP-R to CLS-R keeps or raises the zero-shot accuracy",
        "HMDB-51 55.0 -> 55.5, UCF-101 77.9 -> 78.5",
        (Comparison("cls_r_clip_r", "cls_r", "zsl_top1", "not_worse"),),
    ),
    "regen_grammar_r": Claim(
        PAPER,
        "adding GRAMMAR-R to CLS-R restores caption quality (grammar acceptance, CIDEr-D)",
        "VaTeX CIDEr 28.1 -> 33.4",
        (
            Comparison("cls_r_grammar", "cls_r", "grammatical", "higher"),
            Comparison("cls_r_grammar", "cls_r", "cider_d", "higher"),
        ),
    ),
    "regen_all": Claim(
        PAPER,
        "all three rewards: novel zero-shot top-1 and GZSL H above both controls, caption quality above CLS-R alone",
        "HMDB-51 55.1, UCF-101 76.4 (REST 49.9, 71.6); VaTeX CIDEr 40.5 (CLS-R alone 28.1)",
        (
            Comparison("regen", "xe_continued", "zsl_top1", "higher"),
            Comparison("regen", "min_length", "zsl_top1", "higher"),
            Comparison("regen", "xe_continued", "gzsl_h", "higher"),
            Comparison("regen", "cls_r", "cider_d", "higher"),
        ),
    ),
}
SCORE_KEYS = (
    "zsl_top1", "gzsl_seen", "gzsl_unseen", "gzsl_h", "base_top1", "cider_d", "bleu_4", "mlm_pll", "grammatical",
    "names_action", "length", "action_probe",
)
SUITE = Suite(ARMS, CLAIMS, SCORE_KEYS, ("validation_base_top1", "validation_cider_d"))
COLUMNS = (
    ("zsl_top1", "novel ZSL top-1 %", 1), ("gzsl_h", "GZSL H %", 1), ("base_top1", "base top-1 %", 1),
    ("cider_d", "CIDEr-D", 3), ("mlm_pll", "MLM PLL", 2), ("grammatical", "grammatical", 2),
    ("names_action", "names action", 2), ("length", "words", 1), ("action_probe", "probe %", 1),
)


# ------------------------------------------------------------------------------------------------------- scoring


def regen_scores(captions: list[str], columns: dict, embedder, mlm) -> dict:
    """The table's columns for one set of captions (one per clip) with the clips' ``columns`` (``label``,
    ``captions``, ``action``, ...). Accuracies in percent; ZSL/GZSL are left out when the clips hold no novel
    class (the validation split)."""
    from hf_vidcap.data import caption_names_attributes, is_shapes_caption_grammatical
    from hf_vidcap.data.shapes import ACTIONS, BASE_ACTIONS, NOVEL_ACTIONS
    from hf_vidcap.evaluation import score_captions, zero_shot_classification

    names, labels = list(ACTIONS), columns["label"]
    novel, base = [names.index(a) for a in NOVEL_ACTIONS], [names.index(a) for a in BASE_ACTIONS]
    scores = {"base_top1": zero_shot_classification(captions, labels, embedder, names, unseen_draws=[base], ks=(1,))["zsl_top1_accuracy"]}
    if any(label in novel for label in labels):
        zs = zero_shot_classification(captions, labels, embedder, names, unseen_draws=[novel], ks=(1,))
        scores.update(
            zsl_top1=zs["zsl_top1_accuracy"], gzsl_seen=zs["gzsl_seen_accuracy"], gzsl_unseen=zs["gzsl_unseen_accuracy"],
            gzsl_h=zs["gzsl_harmonic_mean"],
        )
    quality = score_captions(captions, columns["captions"])
    scores.update(cider_d=quality["cider_d"], bleu_4=quality["bleu_4"])
    scores["mlm_pll"] = statistics.mean(mlm.scores(captions))
    scores["grammatical"] = statistics.mean(float(is_shapes_caption_grammatical(c)) for c in captions)
    scores["names_action"] = statistics.mean(
        float(caption_names_attributes(c, {"color": "", "shape": "", "action": a})["action"]) for c, a in zip(captions, columns["action"])
    )
    scores["length"] = statistics.mean(len(c.split()) for c in captions)
    scores["examples"] = captions[:6]
    return scores


def action_probe(model, processor, split, batch_size: int = 50) -> float:
    """Latent action recognition (FACTS.md's lesson: the claim needs a captioner that recognises actions): the share
    of clips whose teacher-forced likelihood is highest for "a <colour> <shape> is <action>" with their own action
    among all 8 (length-normalised log-probability), independent of what greedy decoding says."""
    import torch

    from hf_vidcap.captioning import caption_token_logprobs, unwrap_captioner
    from hf_vidcap.data import VideoCaptionCollator
    from hf_vidcap.data.shapes import ACTIONS

    captioner = unwrap_captioner(model)
    was_training = captioner.training
    captioner.eval()
    collator = VideoCaptionCollator(processor, num_frames=8)
    correct = []
    with torch.no_grad():
        for start in range(0, len(split), batch_size):
            rows = [split[i] for i in range(start, min(start + batch_size, len(split)))]
            batch = collator(rows)
            texts = [f"a {row['color']} {row['shape']} is {action}" for row in rows for action in ACTIONS]
            ids, mask = processor.pad_captions(processor.caption_ids(texts))
            logprobs = caption_token_logprobs(captioner, processor, ids, mask, pixel_values=batch["pixel_values"], captions_per_video=len(ACTIONS))
            scores = (logprobs.sum(dim=1) / mask.sum(dim=1)).view(len(rows), len(ACTIONS))
            correct += [ACTIONS[int(k)] == row["action"] for k, row in zip(scores.argmax(dim=1), rows)]
    captioner.train(was_training)
    return 100.0 * sum(correct) / len(correct)


# ------------------------------------------------------------------------------------------------------ training


class RegenBench:
    def __init__(self, args):
        import torch

        from hf_vidcap.data import ShapesWorldConfig, generate_shapes_dataset, load_shapes_dataset, split_base_novel
        from hf_vidcap.encoders import load_clip_embedder
        from hf_vidcap.encoders.shapes_standins import train_shapes_clip, train_shapes_mlm
        from hf_vidcap.rewards import get_cider_d_reward, get_mlm_grammar_reward

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))  # one per process when several run
        self.args = args
        world = ShapesWorldConfig(
            num_train=args.num_train, num_validation=args.num_validation, num_test=args.num_test, seed=0,
            action_caption_prob=args.action_caption_prob,
        )
        self.world = world.version
        self.dataset = load_shapes_dataset(generate_shapes_dataset(args.data_dir, world))
        self.base = split_base_novel(self.dataset)
        workdir = Path(args.workdir)
        print("stand-ins (trained once, then read from disk)", flush=True)
        self.standins = {
            "clip": train_shapes_clip(workdir / "shapes_clip", world_dir=args.pretraining_dir, num_clips=args.pretraining_clips, steps=args.clip_steps),
            "mlm": train_shapes_mlm(workdir / "shapes_mlm", world_dir=args.pretraining_dir, num_clips=args.pretraining_clips, steps=args.mlm_steps),
        }
        self.clip_dir, self.mlm_dir = str(workdir / "shapes_clip"), str(workdir / "shapes_mlm")
        self.embedder = load_clip_embedder(self.clip_dir)
        self.mlm = get_mlm_grammar_reward(self.mlm_dir)
        self.cider = get_cider_d_reward(self.dataset["train"]["captions"])

    def config(self, out: str, **kwargs):
        from hf_vidcap.trainer import VideoSCSTConfig

        defaults = dict(
            output_dir=out, use_cpu=True, per_device_train_batch_size=32, per_device_eval_batch_size=100, num_frames=8,
            lr_scheduler_type="constant", max_completion_length=16, save_strategy="no", logging_steps=100,
            disable_tqdm=True, report_to="none",
        )
        return VideoSCSTConfig(**{**defaults, **kwargs})

    def captions(self, model, processor, split, **generation) -> tuple[list[str], dict]:
        from hf_vidcap.data import VideoCaptionCollator
        from hf_vidcap.evaluation import generate_for_dataset

        collator = VideoCaptionCollator(processor, num_frames=8)
        return generate_for_dataset(model, processor, split, collator, batch_size=100, show_progress=False, **generation)

    def _score_and_store(self, path: Path, model, processor, seed: int, generation: dict | None = None, **fields) -> dict:
        generation = generation or {}
        validation = regen_scores(*self.captions(model, processor, self.base["validation"], **generation), self.embedder, self.mlm)
        test = regen_scores(*self.captions(model, processor, self.dataset["test"], **generation), self.embedder, self.mlm)
        test["action_probe"] = action_probe(model, processor, self.dataset["test"])
        result = {
            "seed": seed, **fields, "validation_base_top1": validation["base_top1"],
            "validation_cider_d": validation["cider_d"], "test": test,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        return result

    def xe_checkpoint(self, seed: int) -> Path:
        """The best-validation XE checkpoint of ``seed``: a tiny mean-fusion GIT on frames + differences, trained
        on every training clip's captions (cached in the work directory)."""
        import torch

        from hf_vidcap.data import build_shapes_tokenizer
        from hf_vidcap.models import VideoGitProcessor, create_tiny_video_git
        from hf_vidcap.trainer import VideoSCSTTrainer

        args = self.args
        checkpoint = Path(args.workdir) / f"world{self.world}" / f"seed{seed}" / "xe_best"
        record = mc.run_path(Path(args.runs), self.world, seed, "xe")
        if (checkpoint / "model.safetensors").exists() and record.exists():
            return checkpoint
        print(f"[seed {seed}] XE until validation CIDEr-D plateaus", flush=True)
        torch.manual_seed(seed)
        processor = VideoGitProcessor(build_shapes_tokenizer(), image_size=64, frame_differences="append")
        model = create_tiny_video_git(
            processor.tokenizer, num_frames=processor.num_model_frames(8), image_size=64, patch_size=16,
            hidden_size=args.hidden_size, frame_fusion="mean",
        )
        best = mc.best_validation_callback(args.patience, args.min_delta)
        xe_args = self.config(
            str(checkpoint.parent / "xe_run"), seed=seed, learning_rate=args.xe_lr, max_steps=args.xe_max_steps,
            xe_warmup_steps=args.xe_max_steps, eval_strategy="steps", eval_steps=args.eval_steps,
        )
        trainer = VideoSCSTTrainer(model, self.cider, xe_args, self.dataset["train"], self.dataset["validation"], processor, callbacks=[best])
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        model.load_state_dict(best.best_state)
        model.save_pretrained(checkpoint)
        processor.save_pretrained(checkpoint)
        result = self._score_and_store(
            record, model, processor, seed, xe_steps=trainer.state.global_step, best_step=best.best_step,
            curve=best.history, train_seconds=seconds,
        )
        print(f"[seed {seed}] XE: best step {best.best_step} of {trainer.state.global_step}; {_brief(result)}", flush=True)
        return checkpoint

    def rewards(self, names: tuple) -> list:
        from hf_vidcap.data.shapes import BASE_ACTIONS
        from hf_vidcap.rewards import build_rewards

        kwargs = {
            "cls_r": {"clip_model": self.clip_dir, "label_column": "action", "class_names": list(BASE_ACTIONS)},
            "clip_r": {"clip_model": self.clip_dir},
            "grammar_mlm": {"model": self.mlm_dir},
        }
        return build_rewards(list(names), {n: kwargs[n] for n in names}, self.base["train"])

    def run_arm(self, seed: int, arm: str, setting) -> dict:
        from hf_vidcap.models import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor
        from hf_vidcap.trainer import VideoSCSTTrainer

        path = mc.run_path(Path(self.args.runs), self.world, seed, arm, setting)
        if path.exists():
            return json.loads(path.read_text())
        checkpoint = self.xe_checkpoint(seed)
        if arm == "xe":
            return json.loads(path.read_text())
        processor = AutoVideoCaptionProcessor.from_pretrained(checkpoint)
        model = AutoModelForVideoCaptioning.from_pretrained(checkpoint)
        settings = dict(ARMS[arm].settings)
        if settings.get("decode_only"):
            print(f"[seed {seed}] {arm}: min_new_tokens {setting}", flush=True)
            result = self._score_and_store(path, model, processor, seed, {"min_new_tokens": setting}, arm=arm, min_new_tokens=setting, train_seconds=0.0)
            print(f"[seed {seed}] {arm}@{setting}: {_brief(result)}", flush=True)
            return result
        steps, out = self.args.steps, str(Path(self.args.workdir) / f"world{self.world}" / f"seed{seed}" / path.stem)
        print(f"[seed {seed}] {arm} at lr {mc.lr_name(setting)}, {steps} steps", flush=True)
        if settings.pop("xe_only", False):
            run_args = self.config(out, seed=seed, learning_rate=setting, max_steps=steps, xe_warmup_steps=steps, **settings)
            trainer = VideoSCSTTrainer(model, self.cider, run_args, self.dataset["train"], None, processor)
        else:
            names = settings.pop("rewards")
            run_args = self.config(
                out, seed=seed, learning_rate=setting, max_steps=steps, rollout="beam", num_beams=3, num_generations=1,
                baseline="beam_vs_greedy", reward_weights=[REWARD_WEIGHTS[n] for n in names], **settings,
            )
            trainer = VideoSCSTTrainer(model, self.rewards(names), run_args, self.base["train"], None, processor)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        result = self._score_and_store(
            path, model, processor, seed, arm=arm, learning_rate=mc.lr_name(setting), steps=trainer.state.global_step, train_seconds=seconds,
        )
        print(f"[seed {seed}] {arm}@{mc.lr_name(setting)} ({seconds:.0f} s): {_brief(result)}", flush=True)
        return result


def _brief(result: dict) -> str:
    t = result["test"]
    return (
        f"validation base top-1 {result['validation_base_top1']:.1f}; test novel ZSL {t['zsl_top1']:.1f}, H {t['gzsl_h']:.1f}, "
        f"CIDEr-D {t['cider_d']:.3f}, grammatical {t['grammatical']:.2f}, e.g. {t['examples'][:2]}"
    )


# ------------------------------------------------------------------------------------------------------- the table


def markdown(table: dict, settings: dict) -> str:
    seeds = table["seeds"]
    lines = [
        "### ReGen's reward ablation (Table 1) on the shapes world (`benchmarks/regen_claims.py`)",
        "",
        f"Shapes world v{table['world_version']} with generic captions (action named with p = {settings['action_caption_prob']}), "
        f"{settings['num_train']} training clips (RL: the base-class ones), {settings['num_test']} test clips of all 8 actions; "
        f"novel: moving right / down, shrinking. Tiny GIT (mean fusion, frames + differences, hidden {settings['hidden_size']}); "
        f"stand-in CLIP and masked LM trained on a separate world. Per seed: XE to the best validation CIDEr-D, then "
        f"{settings['steps']} steps x 32 videos per arm (RL: beam caption vs greedy, ReGen's λ 1 / 5 / 0.2). Settings "
        f"chosen on seed {table['select_seed']}'s base-class validation (top-1, then CIDEr-D). Test; mean ± std over "
        f"seeds {seeds}; verdicts as in the method-claims table.{_standins_line(settings)}",
        "",
        *mc.claim_lines(table),
    ]
    lines += [
        "",
        "| arm | setting (validation base top-1 per setting) | seeds | " + " | ".join(c[1] for c in COLUMNS) + " |",
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
        "not counted). Rerun: `HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/regen_claims.py --seeds "
        + " ".join(map(str, seeds)) + "` (stored runs in `benchmarks/results/regen_claims/` are skipped).",
        "",
    ]
    return "\n".join(lines)


def _standins_line(settings: dict) -> str:
    clip = (settings.get("standins") or {}).get("clip")
    mlm = (settings.get("standins") or {}).get("mlm")
    if not clip or not mlm:
        return ""
    return (
        f" Stand-ins (validation on their own world): CLIP video -> action name {100 * clip['zero_shot_action_accuracy']:.0f}% "
        f"(a mean of frames cannot tell a motion from its reverse), a reference caption -> action name "
        f"{100 * clip.get('oracle_caption_action_accuracy', float('nan')):.1f}%; masked LM token accuracy "
        f"{100 * mlm['validation_masked_token_accuracy']:.0f}%."
    )


def plot(table: dict, path: Path) -> None:
    mc.plot_arm_panels(table, path, (("zsl_top1", "novel ZSL top-1 %"), ("cider_d", "test CIDEr-D"), ("grammatical", "grammatical share")))


def write_outputs(table: dict, settings: dict, output: str, readme: Path | None = None) -> str:
    return mc.write_outputs(table, settings, output, readme, markdown, plot, (README_START, README_END))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--claims", nargs="+", default=list(CLAIMS), choices=list(CLAIMS))
    parser.add_argument("--select-seed", type=int, default=0, help="seed whose validation split chooses each arm's setting")
    parser.add_argument("--steps", type=int, default=400, help="optimizer steps of every trained arm")
    parser.add_argument("--data-dir", default="data/shapes_regen_benchmark")
    parser.add_argument("--pretraining-dir", default="data/shapes_pretraining", help="the stand-ins' world")
    parser.add_argument("--pretraining-clips", type=int, default=2000, help="the stand-ins' training clips")
    parser.add_argument("--clip-steps", type=int, default=1500, help="CLIP stand-in training steps")
    parser.add_argument("--mlm-steps", type=int, default=1000, help="masked-LM stand-in training steps")
    parser.add_argument("--num-train", type=int, default=2000)
    parser.add_argument("--num-validation", type=int, default=200)
    parser.add_argument("--num-test", type=int, default=400)
    parser.add_argument("--action-caption-prob", type=float, default=0.4)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--xe-lr", type=float, default=1e-3)
    parser.add_argument("--xe-max-steps", type=int, default=4000)
    parser.add_argument("--eval-steps", type=int, default=250)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--min-delta", type=float, default=0.02)
    parser.add_argument("--runs", default="benchmarks/results/regen_claims", help="one JSON per arm x seed x setting")
    parser.add_argument("--workdir", default="outputs/regen_claims", help="stand-ins, XE checkpoints, trainer outputs")
    parser.add_argument("--output", default="benchmarks/results/regen_claims")
    parser.add_argument("--table-only", action="store_true", help="rebuild the table from stored runs")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README sections")
    args = parser.parse_args(argv)

    keys = ("steps", "num_train", "num_validation", "num_test", "action_caption_prob", "hidden_size", "xe_lr", "xe_max_steps", "eval_steps", "patience", "min_delta")
    settings = {k: getattr(args, k) for k in keys}
    arms = sorted({name for c in args.claims for comp in CLAIMS[c].comparisons for name in (comp.a, comp.b)})
    if args.table_only:
        from hf_vidcap.data.shapes import SHAPES_WORLD_VERSION

        world = SHAPES_WORLD_VERSION
    else:
        bench = RegenBench(args)
        world = bench.world
        for arm in arms:
            for setting in ARMS[arm].learning_rates or [None]:
                bench.run_arm(args.select_seed, arm, setting)
        for seed in args.seeds:
            for arm in arms:
                bench.run_arm(seed, arm, mc.chosen_lr(Path(args.runs), world, args.select_seed, arm, SUITE))
        settings["standins"] = bench.standins
    if args.table_only:  # the stand-ins' records, as the training run saw them
        records = {kind: Path(args.workdir) / f"shapes_{kind}" / "standin.json" for kind in ("clip", "mlm")}
        previous = Path(args.output + ".json")
        if all(path.exists() for path in records.values()):
            settings["standins"] = {kind: json.loads(path.read_text()) for kind, path in records.items()}
        elif previous.exists():
            settings["standins"] = json.loads(previous.read_text())["settings"].get("standins")
    table = mc.build_table(Path(args.runs), world, args.seeds, args.claims, args.select_seed, SUITE)
    text = write_outputs(table, settings, args.output, None if args.no_readme else ROOT / "README.md")
    print(text)
    if not args.no_readme and Path(args.output) == Path("benchmarks/results/regen_claims"):
        mc.main(["--table-only"])  # the method-claims table picks up these claim rows


if __name__ == "__main__":
    sys.exit(main())

"""ReGen (Table 1 setting): a video captioner tuned by RL on an action-recognition set, with CLS-R + CLIP-R +
GRAMMAR-R and the beam-searched-vs-greedy baseline, evaluated as a zero-shot action classifier by captioning
(caption -> closest class name in CLIP text space) on other datasets' classes.

Paper settings (Kinetics-400 training, zero-shot HMDB-51, UCF-101, Kinetics-220; needs the data and the Hub):

    accelerate launch recipes/git_kinetics_regen.py --config recipes/configs/git/kinetics400_regen.yaml

Offline on the shapes world (base actions rewarded, novel actions held out; stand-ins for CLIP and the masked LM
and a tiny GIT checkpoint written first):

    python -m hf_vidcap.models.tiny_checkpoints video_git outputs/tiny_video_git_shapes --num_frames 8
    python -m hf_vidcap.encoders.shapes_standins clip outputs/shapes_clip
    python -m hf_vidcap.encoders.shapes_standins mlm outputs/shapes_mlm
    accelerate launch recipes/git_kinetics_regen.py --config recipes/configs/git/shapes_regen.yaml
"""

import os
from dataclasses import dataclass, field, replace

import torch
from trl import ModelConfig, TrlParser

from hf_vidcap.data import ShapesWorldConfig, generate_shapes_dataset, load_action_dataset, load_shapes_dataset
from hf_vidcap.data.action_datasets import zero_shot_classes
from hf_vidcap.data.shapes import ACTIONS, NOVEL_ACTIONS, split_base_novel
from hf_vidcap.encoders import load_clip_embedder
from hf_vidcap.evaluation import zero_shot_metrics
from hf_vidcap.rewards import build_rewards
from hf_vidcap.scripts import VideoScriptArguments, load_captioner_for_training
from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer
from hf_vidcap.trainer.curves import CURVES_FILE


@dataclass
class RegenScriptArguments(VideoScriptArguments):
    r"""
    The recipe's data and evaluation, on top of `VideoScriptArguments` (``dataset_name``: an action dataset of
    `load_action_dataset` or ``"shapes"``; ``data_dir``, ``video_dir``, the ``shapes_*`` sizes, the model and
    reward settings).

    eval_datasets (`list[str]`): zero-shot evaluation sets (``hmdb51``, ``ucf101``: every class of the official test
        fold, ``zero_shot_draws`` seeded 50% draws of unseen classes; ``kinetics220``: its three 1-vs-160 splits).
    eval_data_dirs (`dict`): each evaluation set's ``data_dir`` (a YAML mapping).
    kinetics400_classes (`str`): for ``kinetics220``, the K400 class list (CSV or text file).
    kinetics220_split (`str`): ``"test_generalized"`` (1-vs-620, ReGen's Table 1) or ``"test"`` (1-vs-160).
    zero_shot_draws (`int`): draws of unseen classes per UCF / HMDB evaluation (ReGen: 10).
    eval_clip_model (`str`): the CLIP model of the zero-shot evaluation (default: CLS-R's ``clip_model``).
    action_caption_prob (`float`): shapes world: probability that a reference caption names the action.
    novel_actions (`list[str]`): shapes world: the held-out actions (default: `NOVEL_ACTIONS`).
    """

    eval_datasets: list[str] = field(default_factory=lambda: ["hmdb51", "ucf101", "kinetics220"], metadata={"help": "Zero-shot evaluation sets."})
    eval_data_dirs: dict | None = field(default=None, metadata={"help": "data_dir of each evaluation set (YAML mapping)."})
    kinetics400_classes: str | None = field(default=None, metadata={"help": "kinetics220: the K400 class list."})
    kinetics220_split: str = field(default="test_generalized", metadata={"help": "kinetics220: 'test' (1-vs-160) or 'test_generalized' (1-vs-620, Table 1)."})
    zero_shot_draws: int = field(default=10, metadata={"help": "Seeded unseen-class draws per UCF/HMDB evaluation."})
    eval_clip_model: str | None = field(default=None, metadata={"help": "CLIP of the zero-shot evaluation (default: cls_r's)."})
    action_caption_prob: float = field(default=0.5, metadata={"help": "Shapes world: P(a reference caption names the action)."})
    novel_actions: list[str] | None = field(default=None, metadata={"help": "Shapes world: held-out actions."})


def _shapes(script_args, training_args):
    """Base-action training clips (RL), the test split of all actions (the novel ones being the single unseen
    draw: ZSL over them, GZSL over all eight), and every training clip (the captioning pre-training's data)."""
    config = ShapesWorldConfig(
        num_train=script_args.shapes_num_train, num_validation=script_args.shapes_num_validation,
        num_test=script_args.shapes_num_test, num_frames=training_args.num_frames, seed=script_args.shapes_seed,
        action_caption_prob=script_args.action_caption_prob,
    )
    world = load_shapes_dataset(generate_shapes_dataset(script_args.shapes_dir, config))
    novel = script_args.novel_actions or list(NOVEL_ACTIONS)
    train = split_base_novel(world, novel)["train"]
    unseen = [[ACTIONS.index(a) for a in novel]]
    return train, {"shapes": [(world["test"], list(ACTIONS), unseen)]}, world["train"]


def _action_sets(script_args):
    """The training split and, per evaluation set, ``[(dataset, class names, unseen draws or None), ...]``."""
    train = load_action_dataset(script_args.dataset_name, script_args.dataset_train_split, data_dir=script_args.data_dir, video_dir=script_args.video_dir)
    dirs = script_args.eval_data_dirs or {}
    evaluations = {}
    for name in script_args.eval_datasets:
        if name == "kinetics220":
            splits = [
                load_action_dataset(
                    name, script_args.kinetics220_split, data_dir=dirs.get(name), zero_shot_draw=k,
                    kinetics400_classes=script_args.kinetics400_classes,
                )
                for k in range(3)
            ]
            evaluations[name] = [(ds, ds.features["label"].names, None) for ds in splits]
        else:
            ds = load_action_dataset(name, "test", data_dir=dirs.get(name))
            names = ds.features["label"].names
            evaluations[name] = [(ds, names, [zero_shot_classes(len(names), k)[1] for k in range(script_args.zero_shot_draws)])]
    return train, evaluations, None


def _pretrain_captioner(model, processor, rewards, training_args, captions_split):
    """ReGen starts from a captioner pre-trained on captions of every kind of video (REST's). On the shapes world
    that is XE on every training clip's captions (all actions, no labels) for ``xe_warmup_steps``; RL then runs on
    the base-action clips alone for the remaining steps. (An XE warm-up on the RL split would never show the
    captioner a novel action's words.)"""
    steps = training_args.xe_warmup_steps
    xe_args = replace(
        training_args, max_steps=steps, xe_warmup_steps=steps, eval_strategy="no", eval_on_start=False,
        save_strategy="no", output_dir=os.path.join(training_args.output_dir, "captioning_xe"),
    )
    VideoSCSTTrainer(model=model, reward_funcs=rewards, args=xe_args, train_dataset=captions_split, processing_class=processor).train()
    return replace(training_args, max_steps=training_args.max_steps - steps, xe_warmup_steps=0)


def _limit(dataset, limit):
    return dataset if limit is None else dataset.select(range(min(limit, len(dataset))))


def main(script_args, training_args, model_args):
    train_dataset, evaluations, captions_split = (
        _shapes(script_args, training_args) if script_args.dataset_name == "shapes" else _action_sets(script_args)
    )
    processor, model, peft_config = load_captioner_for_training(script_args, training_args, model_args)
    rewards = build_rewards(script_args.reward_funcs, script_args.reward_kwargs, train_dataset, training_args.references_column)
    if captions_split is not None and training_args.xe_warmup_steps > 0:
        training_args = _pretrain_captioner(model, processor, rewards, training_args, captions_split)
    clip_model = script_args.eval_clip_model or ((script_args.reward_kwargs or {}).get("cls_r") or {}).get("clip_model")
    if clip_model is None:
        raise ValueError("the zero-shot evaluation needs a CLIP model: set eval_clip_model, or cls_r's clip_model in reward_kwargs.")
    embedder = load_clip_embedder(clip_model)

    # Evaluation during training: the first evaluation set (its first split), zero-shot.
    first, first_names, first_draws = next(iter(evaluations.values()))[0]
    trainer = VideoSCSTTrainer(
        model=model, reward_funcs=rewards, args=training_args, train_dataset=train_dataset,
        eval_dataset=_limit(first, script_args.max_eval_samples), processing_class=processor, peft_config=peft_config,
        compute_metrics=zero_shot_metrics(embedder, first_names, unseen_draws=first_draws),
    )
    trainer.train()
    trainer.save_model(training_args.output_dir)

    # Final zero-shot evaluation on every set (mean over kinetics220's three splits).
    results = {}
    for name, splits in evaluations.items():
        per_split = []
        for dataset, names, draws in splits:
            trainer.compute_metrics = zero_shot_metrics(embedder, names, unseen_draws=draws)
            per_split.append(trainer.evaluate(_limit(dataset, script_args.max_eval_samples), metric_key_prefix=f"test_{name}"))
        results[name] = {key: sum(m[key] for m in per_split) / len(per_split) for key in per_split[0] if isinstance(per_split[0][key], float)}
    trainer.save_metrics("zero_shot", {f"{name}/{key}": value for name, metrics in results.items() for key, value in metrics.items()})
    if trainer.is_world_process_zero():
        print(regen_table(results))
        curves = os.path.join(training_args.output_dir, CURVES_FILE)
        if os.path.exists(curves):
            print(f"training curves: {curves}")
    return trainer, results


def regen_table(results: dict) -> str:
    """Markdown: per evaluation set, ZSL top-1 / top-5 (mean ± std over draws) and the GZSL harmonic mean."""
    lines = ["| dataset | ZSL top-1 | ZSL top-5 | GZSL harmonic mean | CIDEr-D |", "|---|---|---|---|---|"]
    for name, metrics in results.items():
        prefix = f"test_{name}_"

        def cell(key, metrics=metrics, prefix=prefix):
            for candidate in (f"zsl_{key}", key):
                if prefix + candidate in metrics:
                    std = metrics.get(f"{prefix}{candidate}_std")
                    return f"{metrics[prefix + candidate]:.1f}" + (f" ± {std:.1f}" if std is not None else "")
            return "–"

        cider = metrics.get(prefix + "cider_d")
        lines.append(
            f"| {name} | {cell('top1_accuracy')} | {cell('top5_accuracy')} | {cell('gzsl_harmonic_mean')} | "
            f"{'–' if cider is None else f'{cider:.3f}'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = TrlParser((RegenScriptArguments, VideoSCSTConfig, ModelConfig))
    main(*parser.parse_args_and_config())
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    os.sys.stdout.flush()

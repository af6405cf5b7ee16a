"""WTF-RL (Chaffin et al., Table 1 setting): distinctive captioning with OFA. A teacher-forced OFA is tuned by RL
with r = alpha * r_bicont + (1 - alpha) * P_D on beam-searched captions and, weighted by the same reward, on the
ground-truth captions (weighted teacher forcing, eq. 3); the discriminator P_D is pre-trained on ground truth vs
the starting model's beams and updated every step. Evaluated on retrieval with a fixed CLIP (text-to-image and
image-to-text R@1/5/10), writing quality (BLEU-4, ROUGE-L, CIDEr-D, METEOR) and Self-BLEU-4.

Paper settings (COCO Karpathy splits as one-frame videos; needs the data and the Hub), and its ablation variants:

    accelerate launch recipes/ofa_coco_wtf.py --config recipes/configs/ofa/coco_wtf.yaml
    accelerate launch recipes/ofa_coco_wtf.py --config recipes/configs/ofa/coco_wtf_only.yaml       # WTF
    accelerate launch recipes/ofa_coco_wtf.py --config recipes/configs/ofa/coco_rl.yaml             # RL
    accelerate launch recipes/ofa_coco_wtf.py --config recipes/configs/ofa/coco_rl_unidirectional.yaml
    accelerate launch recipes/ofa_coco_wtf.py --config recipes/configs/ofa/coco_scst_discriminator.yaml

Offline on the shapes world with near-duplicate twins (a tiny OFA and the shapes CLIP stand-in written first):

    python -m hf_vidcap.models.tiny_checkpoints ofa outputs/tiny_ofa_shapes --num_frames 4 --frame_differences append
    python -m hf_vidcap.encoders.shapes_standins clip outputs/shapes_clip
    accelerate launch recipes/ofa_coco_wtf.py --config recipes/configs/ofa/shapes_wtf.yaml
"""

import math
import os
from dataclasses import dataclass, field, replace

import torch
from trl import ModelConfig, TrlParser

from hf_vidcap.data import ShapesWorldConfig, VideoCaptionCollator, load_video_caption_dataset
from hf_vidcap.evaluation import evaluate_captioner
from hf_vidcap.metrics import distinct_twin_pairs
from hf_vidcap.rewards import build_rewards
from hf_vidcap.scripts import VideoScriptArguments, load_captioner_for_training
from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer
from hf_vidcap.trainer.curves import CURVES_FILE

WTF_METRICS = ("cider_d", "bleu", "rouge_l", "meteor", "retrieval", "diversity")


@dataclass
class WTFScriptArguments(VideoScriptArguments):
    r"""
    The recipe's stages and evaluation, on top of `VideoScriptArguments` (``dataset_name``: ``"coco"`` (Karpathy
    splits, `load_caption_dataset`) or ``"shapes"``, the model and reward settings).

    teacher_forcing_epochs (`float`): epochs of teacher forcing before RL (the paper's starting point: OFA-tiny
        trained with TF for 2 epochs); 0 when ``model_name_or_path`` already is that checkpoint.
    teacher_forcing_learning_rate (`float`): its learning rate.
    discriminator_pretraining_videos (`int`, *optional*): training videos whose ground truth and beam captions
        pre-train the discriminator (all by default).
    discriminator_pretraining_epochs (`int`): epochs of that pre-training.
    discriminator_pretraining_beams (`int`): beam width of the starting model's captions.
    eval_clip_model (`str`, *optional*): the fixed retriever of the evaluation (default: the contrastive or CLIP
        score reward's ``clip_model``).
    eval_metrics (`list[str]`): metrics of `evaluate_captioner` on the test split; on a split with near-duplicate
        pairs (shapes ``pair_id``) the share of twin pairs captioned differently is added.
    action_caption_prob, near_duplicate_prob (`float`): shapes world: P(a reference caption names the action),
        P(a clip gets a twin that differs in one attribute).
    """

    teacher_forcing_epochs: float = field(default=0.0, metadata={"help": "Epochs of teacher forcing before RL."})
    teacher_forcing_learning_rate: float = field(default=1e-5, metadata={"help": "Learning rate of the teacher forcing."})
    discriminator_pretraining_videos: int | None = field(default=None, metadata={"help": "Videos of the discriminator's pre-training (default: all)."})
    discriminator_pretraining_epochs: int = field(default=5, metadata={"help": "Epochs of the discriminator's pre-training."})
    discriminator_pretraining_beams: int = field(default=5, metadata={"help": "Beams of the starting model's captions."})
    eval_clip_model: str | None = field(default=None, metadata={"help": "Fixed retriever of the evaluation (default: the reward's)."})
    eval_metrics: list[str] = field(default_factory=lambda: list(WTF_METRICS), metadata={"help": "Test metrics (evaluate_captioner names)."})
    action_caption_prob: float = field(default=0.5, metadata={"help": "Shapes world: P(a reference caption names the action)."})
    near_duplicate_prob: float = field(default=0.5, metadata={"help": "Shapes world: P(a clip gets a near-duplicate twin)."})


def load_splits(script_args, training_args):
    """Train, validation and test splits (COCO: Karpathy's train, val and test; shapes: a world with twins)."""
    shapes_config = ShapesWorldConfig(
        num_train=script_args.shapes_num_train, num_validation=script_args.shapes_num_validation,
        num_test=script_args.shapes_num_test, num_frames=max(training_args.num_frames, 2), seed=script_args.shapes_seed,
        action_caption_prob=script_args.action_caption_prob, near_duplicate_prob=script_args.near_duplicate_prob,
    )
    names = [script_args.dataset_train_split, script_args.dataset_eval_split, script_args.dataset_test_split]
    dataset = load_video_caption_dataset(
        script_args.dataset_name, script_args.dataset_config, video_dir=script_args.video_dir,
        video_column=training_args.video_column, shapes_dir=script_args.shapes_dir, shapes_config=shapes_config,
        splits=names, data_dir=script_args.data_dir, download_videos=script_args.download_videos,
    )
    return tuple(dataset[name] for name in names)


def teacher_force(model, processor, rewards, script_args, training_args, train):
    """The teacher-forced checkpoint every variant starts from: ``teacher_forcing_epochs`` of XE on the training
    captions (saved under ``<output_dir>/teacher_forced``)."""
    batch = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps * max(training_args.world_size, 1)
    steps = max(1, math.ceil(script_args.teacher_forcing_epochs * len(train) / batch))
    tf_args = replace(
        training_args, max_steps=steps, xe_warmup_steps=steps, xe_learning_rate=script_args.teacher_forcing_learning_rate,
        eval_strategy="no", eval_on_start=False, save_strategy="no", output_dir=os.path.join(training_args.output_dir, "teacher_forced"),
    )
    trainer = VideoSCSTTrainer(model=model, reward_funcs=rewards, args=tf_args, train_dataset=train, processing_class=processor)
    trainer.train()
    trainer.save_model(tf_args.output_dir)
    return steps


def pretrain_discriminators(model, processor, rewards, script_args, training_args, train) -> dict:
    """WTF-RL's discriminator pre-training (ground truth vs the starting model's beams) for every reward that has one."""
    reports = {}
    for reward in rewards:
        if hasattr(reward, "pretrain_on_captioner"):
            reports[reward.__name__] = reward.pretrain_on_captioner(
                model, processor, train, num_videos=script_args.discriminator_pretraining_videos,
                num_beams=script_args.discriminator_pretraining_beams, max_new_tokens=training_args.max_completion_length,
                references_column=training_args.references_column, epochs=script_args.discriminator_pretraining_epochs,
                seed=training_args.seed, num_frames=training_args.num_frames, show_progress=not training_args.disable_tqdm,
            )
            report = reports[reward.__name__]
            print(
                f"{reward.__name__} pre-trained on {report['num_human']} ground-truth and {report['num_generated']} beam "
                f"captions: balanced accuracy {report['accuracy_before']:.3f} -> {report['accuracy_after']:.3f}"
            )
    return reports


def _retriever(script_args):
    if script_args.eval_clip_model is not None:
        return script_args.eval_clip_model
    for name in ("contrastive", "clip_score"):
        clip_model = ((script_args.reward_kwargs or {}).get(name) or {}).get("clip_model")
        if clip_model is not None:
            return clip_model
    raise ValueError("the retrieval evaluation needs a fixed CLIP: set eval_clip_model, or contrastive's clip_model in reward_kwargs.")


def main(script_args, training_args, model_args):
    train, validation, test = load_splits(script_args, training_args)
    processor, model, peft_config = load_captioner_for_training(script_args, training_args, model_args)
    rewards = build_rewards(script_args.reward_funcs, script_args.reward_kwargs, train, training_args.references_column)
    retriever = _retriever(script_args)
    if script_args.teacher_forcing_epochs > 0:
        teacher_force(model, processor, rewards, script_args, training_args, train)
    discriminators = pretrain_discriminators(model, processor, rewards, script_args, training_args, train)

    trainer = VideoSCSTTrainer(
        model=model, reward_funcs=rewards, args=training_args, train_dataset=train,
        eval_dataset=validation if script_args.max_eval_samples is None else validation.select(range(min(script_args.max_eval_samples, len(validation)))),
        processing_class=processor, peft_config=peft_config,
    )
    trainer.train()
    trainer.save_model(training_args.output_dir)

    collator = VideoCaptionCollator(processor, num_frames=training_args.num_frames, references_column=training_args.references_column)
    results, captions = evaluate_captioner(
        trainer.model, processor, test, collator, metrics=script_args.eval_metrics, references_column=training_args.references_column,
        clip_model=retriever, num_beams=training_args.eval_num_beams, max_new_tokens=training_args.max_completion_length,
        batch_size=training_args.per_device_eval_batch_size, show_progress=not training_args.disable_tqdm,
    )
    if "pair_id" in test.column_names:
        results["distinct_twin_pairs"] = distinct_twin_pairs(captions, test["video_id"], test["pair_id"])
    results.update({f"{name}/pretraining_accuracy": report["accuracy_after"] for name, report in discriminators.items()})
    trainer.save_metrics("test", results)
    if trainer.is_world_process_zero():
        print(wtf_table(results))
        curves = os.path.join(training_args.output_dir, CURVES_FILE)
        if os.path.exists(curves):
            print(f"training curves: {curves}")
    return trainer, results


def wtf_table(results: dict) -> str:
    """Markdown: Table 1's columns (retrieval both ways, writing quality, diversity) for this run."""
    columns = [
        ("T2V R@1", "t2v_recall@1"), ("T2V R@5", "t2v_recall@5"), ("T2V R@10", "t2v_recall@10"),
        ("V2T R@1", "v2t_recall@1"), ("V2T R@5", "v2t_recall@5"), ("V2T R@10", "v2t_recall@10"),
        ("B4", "bleu_4"), ("R-L", "rouge_l"), ("C", "cider_d"), ("M", "meteor"), ("Self-BLEU-4", "self_bleu_4"),
        ("twins distinct %", "distinct_twin_pairs"),
    ]
    present = [(title, key) for title, key in columns if key in results]
    scale = {"bleu_4": 100, "rouge_l": 100, "cider_d": 100, "meteor": 100, "self_bleu_4": 100}
    header = "| " + " | ".join(title for title, _ in present) + " |"
    rule = "|" + "---|" * len(present)
    row = "| " + " | ".join(f"{results[key] * scale.get(key, 1):.2f}" for _, key in present) + " |"
    return "\n".join([header, rule, row])


if __name__ == "__main__":
    parser = TrlParser((WTFScriptArguments, VideoSCSTConfig, ModelConfig))
    main(*parser.parse_args_and_config())
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    os.sys.stdout.flush()

"""SCST fine-tuning of a video captioner (the BLIP-2 video captioning paper's recipe, NAACL 2025).

The model is any video captioner checkpoint ``model_name_or_path`` names: BLIP-2 (OPT, FLAN-T5), GIT or OFA, saved
by hf_vidcap or an original image checkpoint of those families, or a transformers video VLM (Qwen2-VL, Qwen2.5-VL:
`AutoModelForVideoCaptioning`, `hf_vidcap.models.vlm`); the rewards are the YAML's ``reward_funcs``.

A video VLM (Qwen2.5-VL-7B-Instruct with LoRA, bf16, ZeRO-3; Qwen2-VL-2B-Instruct in recipes/configs/qwen2_vl):

    accelerate launch --config_file recipes/accelerate_configs/deepspeed_zero3.yaml recipes/blip2_msrvtt_scst.py \
        --config recipes/configs/qwen2_5_vl/msrvtt_scst.yaml

Real use (Salesforce/blip2-flan-t5-xl on MSR-VTT, 16 frames, prompt "a video of", LoRA r=8 alpha=16 on q,v):

    accelerate launch recipes/blip2_msrvtt_scst.py --config recipes/configs/blip2/msrvtt_scst.yaml

Offline demo (a tiny random checkpoint on the synthetic shapes world; XE warm-up, then SCST):

    python -m hf_vidcap.models.tiny_checkpoints video_blip2 outputs/tiny_video_blip2_shapes \
        --num_frames 8 --frame_differences append
    accelerate launch recipes/blip2_msrvtt_scst.py --config recipes/configs/blip2/shapes_tiny_scst.yaml

Any field of VideoScriptArguments, VideoSCSTConfig or trl.ModelConfig can be overridden on the command line.
"""

import os

import torch
from trl import ModelConfig, TrlParser

from hf_vidcap.data import ShapesWorldConfig, load_video_caption_dataset
from hf_vidcap.rewards import build_rewards
from hf_vidcap.scripts import VideoScriptArguments, load_captioner_for_training
from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer
from hf_vidcap.trainer.curves import CURVES_FILE


def main(script_args, training_args, model_args):
    # Data
    shapes_config = ShapesWorldConfig(
        num_train=script_args.shapes_num_train,
        num_validation=script_args.shapes_num_validation,
        num_test=script_args.shapes_num_test,
        num_frames=training_args.num_frames,
        seed=script_args.shapes_seed,
    )
    dataset = load_video_caption_dataset(
        script_args.dataset_name,
        script_args.dataset_config,
        video_dir=script_args.video_dir,
        video_column=training_args.video_column,
        shapes_dir=script_args.shapes_dir,
        shapes_config=shapes_config,
        splits=[script_args.dataset_train_split, script_args.dataset_eval_split, script_args.dataset_test_split],
        data_dir=script_args.data_dir,
        download_videos=script_args.download_videos,
    )
    train_dataset = dataset[script_args.dataset_train_split]
    eval_dataset = dataset[script_args.dataset_eval_split]
    test_dataset = dataset[script_args.dataset_test_split]
    if script_args.max_eval_samples is not None:
        eval_dataset = eval_dataset.select(range(min(script_args.max_eval_samples, len(eval_dataset))))
        test_dataset = test_dataset.select(range(min(script_args.max_eval_samples, len(test_dataset))))

    # Model: whatever checkpoint model_name_or_path names, with as many frame slots as the processor feeds it.
    processor, model, peft_config = load_captioner_for_training(script_args, training_args, model_args)

    # Rewards: named in the YAML (reward_funcs, reward_kwargs; weights in reward_weights). The default, cider_d,
    # fixes its document frequencies on the training references (SCST mode).
    rewards = build_rewards(
        script_args.reward_funcs, script_args.reward_kwargs, train_dataset, training_args.references_column
    )

    # Training
    trainer = VideoSCSTTrainer(
        model=model,
        reward_funcs=rewards,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=processor,
        peft_config=peft_config,
    )
    trainer.train()
    trainer.save_model(training_args.output_dir)
    test_metrics = trainer.evaluate(test_dataset, metric_key_prefix="test")
    trainer.save_metrics("test", test_metrics)  # <output_dir>/test_results.json (and all_results.json)
    if trainer.is_world_process_zero():
        print(trainer.metrics_table(test_metrics))
        curves = os.path.join(training_args.output_dir, CURVES_FILE)
        if os.path.exists(curves):
            print(f"training curves: {curves}")
    if training_args.push_to_hub:
        # Adapter (with LoRA), processor, training config and a model card with the test results as model-index.
        trainer.push_to_hub(dataset_name=script_args.dataset_name, eval_results=test_metrics, eval_split="test")
    return trainer


if __name__ == "__main__":
    parser = TrlParser((VideoScriptArguments, VideoSCSTConfig, ModelConfig))
    main(*parser.parse_args_and_config())
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    os.sys.stdout.flush()

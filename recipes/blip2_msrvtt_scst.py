"""SCST fine-tuning of BLIP-2 as a video captioner (the BLIP-2 video captioning paper, NAACL 2025).

Real use (Salesforce/blip2-flan-t5-xl on MSR-VTT, 16 frames, prompt "a video of", LoRA r=8 alpha=16 on q,v):

    accelerate launch recipes/blip2_msrvtt_scst.py --config recipes/configs/blip2/msrvtt_scst.yaml

Offline demo (tiny random model on the synthetic shapes world; XE warm-up, then SCST):

    accelerate launch recipes/blip2_msrvtt_scst.py --config recipes/configs/blip2/shapes_tiny_scst.yaml

Any field of VideoScriptArguments, VideoSCSTConfig or trl.ModelConfig can be overridden on the command line.
"""

import os

import torch
from transformers import set_seed
from trl import ModelConfig, TrlParser, get_peft_config

from hf_vidcap import VideoBlip2ForConditionalGeneration, VideoBlip2Processor
from hf_vidcap.data import ShapesWorldConfig, build_shapes_tokenizer, load_video_caption_dataset
from hf_vidcap.models import create_tiny_video_blip2
from hf_vidcap.rewards import build_rewards
from hf_vidcap.scripts import VideoScriptArguments
from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer


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

    # Model (seeded here: the Trainer only seeds once the model already exists)
    set_seed(training_args.seed)
    if script_args.tiny_model:
        tokenizer = build_shapes_tokenizer()
        processor = VideoBlip2Processor(
            tokenizer,
            num_query_tokens=8,
            image_size=64,
            prompt=script_args.prompt,
            frame_differences=script_args.frame_differences,
        )
        model = create_tiny_video_blip2(
            tokenizer,
            num_frames=processor.num_model_frames(training_args.num_frames),
            num_query_tokens=processor.num_query_tokens,
            image_size=processor.image_size,
            use_temporal_embedding=script_args.use_temporal_embedding,
        )
    else:
        model = VideoBlip2ForConditionalGeneration.from_pretrained(
            model_args.model_name_or_path,
            dtype=model_args.dtype or "auto",
            num_frames=training_args.num_frames,
            use_temporal_embedding=script_args.use_temporal_embedding,
        )
        processor = VideoBlip2Processor.from_pretrained(
            model_args.model_name_or_path,
            prompt=script_args.prompt,
            frame_differences=script_args.frame_differences,
        )

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
        peft_config=get_peft_config(model_args),
    )
    trainer.train()
    trainer.save_model(training_args.output_dir)
    test_metrics = trainer.evaluate(test_dataset, metric_key_prefix="test")
    if trainer.is_world_process_zero():
        print(trainer.metrics_table(test_metrics))
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

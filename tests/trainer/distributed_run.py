"""One short SCST run, for the distributed tests: launched with accelerate (2 CPU processes over gloo, DDP or
DeepSpeed ZeRO) or as a single process; writes the logged losses and the final parameters to --out.

Rollouts are beam searches and the reward is a function of the text, so that every process configuration
sees the same captions and the runs can be compared number for number.
"""

import argparse
import json
import os
import signal
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))


def distinct_words(completions, **kwargs):
    return [len(set(c.split())) + 0.1 * c.split().count("a") for c in completions]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--per_device_batch", type=int, required=True)
    parser.add_argument("--zero_stage", type=int, default=0)
    parser.add_argument(
        "--from_launcher", action="store_true",
        help="the distributed settings come from `accelerate launch --config_file` (DeepSpeed / FSDP plugin), not the run",
    )
    parser.add_argument("--trainable_vision", action="store_true")
    parser.add_argument("--model", choices=["blip2", "qwen2_vl"], default="blip2", help="a tiny VideoBlip2 or a tiny Qwen2-VL (hf_vidcap.models.vlm)")
    parser.add_argument("--max_steps", type=int, default=2)
    parser.add_argument("--save_steps", type=int, default=0, help="0: no checkpoints")
    parser.add_argument("--kill_during_save", type=int, default=0, help="rank 1 dies while writing checkpoint-N")
    parser.add_argument("--resume", action="store_true", help="resume_from_checkpoint=True")
    parser.add_argument("--evaluate_first", action="store_true", help="evaluate 5 validation videos before training")
    cli = parser.parse_args()

    from accelerate import PartialState

    if cli.zero_stage or cli.from_launcher:
        # DeepSpeed on CPU: force gloo before the training arguments build their state (../shared/FACTS.md).
        PartialState(backend="gloo")

    import torch
    from helpers import make_args, make_model_and_processor

    from hf_vidcap.data import build_shapes_tokenizer, load_shapes_dataset
    from hf_vidcap.trainer import VideoSCSTTrainer

    splits = load_shapes_dataset(cli.data)
    dataset = splits["train"].select(range(8))
    if cli.model == "qwen2_vl":
        from hf_vidcap.models.vlm.tiny import create_tiny_video_vlm

        model, processor = create_tiny_video_vlm("qwen2_vl", num_frames=8, image_size=56)
    else:
        model, processor = make_model_and_processor(build_shapes_tokenizer())
    if not cli.trainable_vision:
        model.vision_model.requires_grad_(False)
    extra = {"accelerator_config": {"use_configured_state": True}} if cli.from_launcher else {}
    if cli.zero_stage and not cli.from_launcher:
        zero = {"stage": cli.zero_stage}
        if cli.zero_stage == 3:
            zero["stage3_gather_16bit_weights_on_model_save"] = True
        extra = dict(
            deepspeed={
                "zero_optimization": zero,
                "train_micro_batch_size_per_gpu": "auto",
                "train_batch_size": "auto",
                "gradient_accumulation_steps": "auto",
                "gradient_clipping": "auto",
                "zero_allow_untested_optimizer": True,
                "zero_force_ds_cpu_optimizer": False,
            },
            accelerator_config={"use_configured_state": True},
        )
    if cli.save_steps:
        extra.update(save_strategy="steps", save_steps=cli.save_steps)

    class KilledDuringSave(VideoSCSTTrainer):
        """Fault injection: at checkpoint ``--kill_during_save``, rank 1 writes half of its RNG state file and is
        killed (SIGKILL, as by the OOM killer or a pre-empted node); the launcher then ends rank 0."""

        def _save_rng_state(self, output_dir):
            if self.state.global_step == cli.kill_during_save and self.args.process_index == 1:
                os.makedirs(output_dir, exist_ok=True)  # (rank 0 may not have created it yet)
                with open(os.path.join(output_dir, "rng_state_1.pth"), "wb") as handle:
                    handle.write(b"PK\x03\x04" + b"\0" * 64)
                    handle.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            super()._save_rng_state(output_dir)

    args = make_args(
        os.path.join(cli.out, "run"), per_device_train_batch_size=cli.per_device_batch, max_steps=cli.max_steps,
        optim="sgd", learning_rate=0.05, rollout="beam", baseline="beam_mean", num_generations=3, max_grad_norm=0.0,
        dataloader_drop_last=True, **extra,
    )
    trainer = KilledDuringSave(model, distinct_words, args, train_dataset=dataset, processing_class=processor)
    # 5 videos: the two processes caption uneven shards (3 and 2), gathered before scoring.
    eval_metrics, eval_rows = None, None
    if cli.evaluate_first:
        from accelerate.utils import gather_object

        collate, seen = trainer.eval_data_collator, []
        trainer.eval_data_collator = lambda rows: seen.extend(rows) or collate(rows)
        eval_metrics = trainer.evaluate(splits["validation"].select(range(5)))
        trainer.eval_data_collator = collate
        eval_rows = gather_object([len(seen)])  # videos captioned by each process
    trainer.train(resume_from_checkpoint=True if cli.resume else None)
    state = trainer.accelerator.state
    if trainer.is_world_process_zero():
        if cli.zero_stage == 3:
            params = trainer.accelerator.get_state_dict(trainer.model_wrapped)
        else:
            params = trainer.accelerator.unwrap_model(trainer.model).state_dict()
        torch.save({k: v.detach().float().cpu() for k, v in params.items()}, os.path.join(cli.out, "params.pt"))
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        with open(os.path.join(cli.out, "result.json"), "w") as handle:
            json.dump({"losses": losses, "num_processes": state.num_processes, "distributed_type": str(state.distributed_type), "global_step": trainer.state.global_step, "eval": eval_metrics, "eval_rows": eval_rows}, handle)
    elif cli.zero_stage == 3:
        trainer.accelerator.get_state_dict(trainer.model_wrapped)  # a collective: every rank takes part
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
    # Everything is written and the process group is gone. Skip the interpreter teardown: DeepSpeed's CPU
    # shared-memory comm op sometimes aborts there ("terminate called without an active exception", seen once in
    # about a dozen ZeRO-2 runs), which would fail a run whose results are complete.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

"""VideoSCSTTrainer against TRL's GRPOTrainer on the same tiny Qwen2-VL, side by side in one run.

Both get the same weights (a tiny random Qwen2-VL-architecture model, `create_tiny_video_vlm`), the same K sampled
completions per input, completion length, inputs per step, learning rate and reward (CIDEr-D against the clip's
captions), with no KL term, a group baseline (ours: leave-one-out; GRPO: the group mean) and one frame per input: as
an image for GRPOTrainer (the only visual input TRL takes), as a one-frame video for ours. Rounds alternate the two
trainers (each round: a fresh copy of the weights, ``--warmup`` steps then ``--steps`` timed steps), so both see the
same machine load. Reported per trainer: the median step time, vision-tower forward calls per step and the inputs
(images / one-frame videos) the tower encodes per step, and the ratio of median step times.

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vlm_vs_grpo.py

Writes benchmarks/results/vlm_vs_grpo.json, .md and .png.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch


class StepClock:
    """Trainer callback: wall time of every optimizer step."""

    def __init__(self):
        from transformers import TrainerCallback

        clock = self

        class _Callback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                clock._start = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                clock.times.append(time.perf_counter() - clock._start)

        self.times: list[float] = []
        self.callback = _Callback()


class VisionCounter:
    """Forward pre-hook on the vision tower: its calls, and the images / videos it encodes (rows of its grid)."""

    def __init__(self, tower):
        self.calls, self.images = 0, 0
        tower.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs):
        self.calls += 1
        grid = kwargs.get("grid_thw", args[1] if len(args) > 1 else None)
        self.images += int(grid.shape[0]) if grid is not None else 0


def make_data(args):
    import datasets
    from PIL import Image

    from hf_vidcap.data import ShapesWorldConfig, generate_shapes_dataset, load_shapes_dataset
    from hf_vidcap.data.video import decode_video

    world = load_shapes_dataset(generate_shapes_dataset(args.data_dir, ShapesWorldConfig(num_train=args.num_videos, num_validation=2, num_test=2, num_frames=4)))
    train = world["train"]
    videos = train.cast_column("video", datasets.Video(decode=False))["video"]
    frames = [decode_video(v, 1) for v in videos]  # the middle frame, as our one-frame videos sample it
    prompt = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "describe this video ."}]}]
    images = datasets.Dataset.from_dict({
        "prompt": [prompt] * len(train), "image": [Image.fromarray(f[0]).resize((args.image_size, args.image_size)) for f in frames],
        "captions": train["captions"],
    })
    return train, images


def run_ours(model, processor, train, reward, args) -> dict:
    from hf_vidcap.data import VideoCaptionCollator
    from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer

    counter, clock = VisionCounter(model.vision_model), StepClock()
    config = VideoSCSTConfig(
        tempfile.mkdtemp(), max_steps=args.warmup + args.steps, per_device_train_batch_size=args.inputs, num_generations=args.k,
        max_completion_length=args.length, num_frames=1, learning_rate=args.lr, baseline="leave_one_out", use_cpu=True, report_to="none",
        disable_tqdm=True, logging_steps=10**6, save_strategy="no", seed=0,
    )
    trainer = VideoSCSTTrainer(model, [reward], config, train, None, processor, VideoCaptionCollator(processor, num_frames=1), callbacks=[clock.callback])
    trainer.train()
    steps = args.warmup + args.steps
    return {"step_seconds": clock.times[args.warmup :], "vision_calls_per_step": counter.calls / steps, "images_per_step": counter.images / steps}


def run_grpo(model, processor, images, reward, args) -> dict:
    from trl import GRPOConfig, GRPOTrainer

    counter, clock = VisionCounter(model.model.visual), StepClock()
    config = GRPOConfig(
        tempfile.mkdtemp(), max_steps=args.warmup + args.steps, per_device_train_batch_size=args.inputs * args.k, num_generations=args.k,
        max_completion_length=args.length, learning_rate=args.lr, beta=0.0, use_cpu=True, report_to="none", disable_tqdm=True,
        logging_steps=10**6, save_strategy="no", seed=0,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=config, train_dataset=images, processing_class=processor, callbacks=[clock.callback])
    trainer.train()
    steps = args.warmup + args.steps
    return {"step_seconds": clock.times[args.warmup :], "vision_calls_per_step": counter.calls / steps, "images_per_step": counter.images / steps}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--inputs", type=int, default=4, help="videos (prompts) per step")
    parser.add_argument("--k", type=int, default=4, help="completions per input")
    parser.add_argument("--length", type=int, default=12, help="max completion tokens")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--image-size", type=int, default=56)
    parser.add_argument("--num-videos", type=int, default=64)
    parser.add_argument("--data-dir", default="data/shapes_vlm_vs_grpo")
    parser.add_argument("--output", default="benchmarks/results/vlm_vs_grpo")
    args = parser.parse_args(argv)

    from hf_vidcap.models.vlm.tiny import create_tiny_video_vlm
    from hf_vidcap.rewards import get_cider_d_reward

    torch.manual_seed(0)
    template, processor = create_tiny_video_vlm("qwen2_vl", num_frames=1, image_size=args.image_size)
    base_class = type(template)._vlm_base
    train, images = make_data(args)
    cider = get_cider_d_reward(train["captions"])

    def grpo_reward(completions, captions, **kwargs):  # TRL's contract: dataset columns by name
        return cider(completions=[c if isinstance(c, str) else c[0]["content"] for c in completions], captions=captions)

    grpo_reward.__name__ = "cider_d"
    results = {"ours": [], "grpo": []}
    for round_index in range(args.rounds):
        for name in ("ours", "grpo") if round_index % 2 == 0 else ("grpo", "ours"):
            weights = copy.deepcopy(template.state_dict())
            if name == "ours":
                model, _ = create_tiny_video_vlm("qwen2_vl", num_frames=1, image_size=args.image_size)
                model.load_state_dict(weights)
                results[name].append(run_ours(model, processor, train, cider, args))
            else:
                model = base_class(template.config)
                model.load_state_dict(weights)
                model.generation_config = copy.deepcopy(template.generation_config)
                results[name].append(run_grpo(model, processor.processor, images, grpo_reward, args))
            print(f"round {round_index} {name}: median step {statistics.median(results[name][-1]['step_seconds']):.3f} s", flush=True)
    summary = {}
    for name, rounds in results.items():
        times = [t for r in rounds for t in r["step_seconds"]]
        summary[name] = {
            "median_step_seconds": statistics.median(times), "vision_calls_per_step": statistics.mean(r["vision_calls_per_step"] for r in rounds),
            "images_per_step": statistics.mean(r["images_per_step"] for r in rounds), "steps_timed": len(times),
        }
    ratios = [statistics.median(g["step_seconds"]) / statistics.median(o["step_seconds"]) for o, g in zip(results["ours"], results["grpo"])]
    report = {"settings": vars(args), "summary": summary, "grpo_over_ours_per_round": ratios, "grpo_over_ours": statistics.median(ratios), "rounds": results}
    write(report, args.output)
    return report


def write(report: dict, output: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, settings = report["summary"], report["settings"]
    lines = [
        "### VideoSCSTTrainer vs TRL GRPOTrainer on a tiny Qwen2-VL (`benchmarks/vlm_vs_grpo.py`)",
        "",
        f"Same weights, {settings['inputs']} inputs x K = {settings['k']} completions of at most {settings['length']} tokens per step, "
        f"CIDEr-D reward, no KL, one frame per input (an image for GRPOTrainer, a one-frame video for ours), "
        f"{settings['rounds']} alternating rounds of {settings['steps']} timed steps (after {settings['warmup']}), one CPU thread each.",
        "",
        "| trainer | median step (s) | vision-tower calls / step | inputs encoded / step |",
        "|---|---|---|---|",
    ]
    for name, label in (("ours", "VideoSCSTTrainer (leave-one-out baseline)"), ("grpo", "GRPOTrainer (group-mean baseline)")):
        lines.append(f"| {label} | {s[name]['median_step_seconds']:.3f} | {s[name]['vision_calls_per_step']:.1f} | {s[name]['images_per_step']:.1f} |")
    lines += ["", f"GRPOTrainer / VideoSCSTTrainer median step time: {report['grpo_over_ours']:.2f}x (per round: "
              + ", ".join(f"{r:.2f}" for r in report["grpo_over_ours_per_round"]) + ").", ""]
    text = "\n".join(lines)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output + ".json").write_text(json.dumps(report, indent=2) + "\n")
    Path(output + ".md").write_text(text)
    figure, axes = plt.subplots(1, 2, figsize=(8, 3))
    names = ["ours", "grpo"]
    axes[0].bar(names, [s[n]["median_step_seconds"] for n in names], color=["tab:blue", "tab:gray"])
    axes[0].set_title("median step time (s)", fontsize=9)
    axes[1].bar(names, [s[n]["images_per_step"] for n in names], color=["tab:blue", "tab:gray"])
    axes[1].set_title("inputs through the vision tower per step", fontsize=9)
    figure.tight_layout()
    figure.savefig(output + ".png", dpi=110)
    plt.close(figure)
    print(text)


if __name__ == "__main__":
    main()

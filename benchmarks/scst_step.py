"""Where one SCST step's time goes, on CPU, for a tiny and a ~20M-parameter BLIP-2 video captioner, side by side
with two hand-written loops: "bare" (the prototype's loop in ../shared/FACTS.md: encode once, a greedy and a
sampling `generate` call, the teacher-forced forward on the encoding repeated K times) and "naive" (re-encodes the
video for every caption).

Per model: a short XE warm-up (so captions end with eos as a trained captioner's do), then R rounds, each of
VideoSCSTTrainer steps, bare steps and naive steps on the same model and batches (32 videos x 8 frames, K = 5
samples + the greedy baseline, 16 tokens, CIDEr-D reward in SCST mode). The trainer's own phase timings
(``trainer.step_timings``: encode, generate, reward, teacher-forced forward, backward, optimizer, whole step) give
the split; "other" is the rest of the step (data collation, logging, the Trainer loop). Reported: per-phase
medians, captions/s, the share of reward + other in the step (goal <= 10 %), videos through the vision tower and
generate calls per step, and the bare/trainer and naive/trainer ratios of step times (medians of the per-round
ratios, the rounds interleaved).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/scst_step.py                 # about 40 minutes on 2 cores
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/scst_step.py --models tiny   # about 2 minutes

Writes benchmarks/results/scst_step.json and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from hf_vidcap import VideoBlip2Processor
from hf_vidcap.captioning import make_generation_config, trim_at_eos
from hf_vidcap.data import (
    ShapesWorldConfig,
    VideoCaptionCollator,
    build_shapes_tokenizer,
    generate_shapes_dataset,
    load_shapes_dataset,
)
from hf_vidcap.models import create_tiny_video_blip2
from hf_vidcap.rewards import get_cider_d_reward
from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer

SIZES = {
    "tiny": dict(),
    "20M": dict(image_size=64, patch_size=8, hidden_size=256, num_query_tokens=32, text_hidden_size=512, num_layers=4),
}
# name: (size, vision tower frozen after the XE warm-up; the trainer then caches its outputs across epochs)
MODELS = {"tiny": ("tiny", False), "tiny_frozen_vision": ("tiny", True), "20M": ("20M", False)}
PHASES = ("encode", "generate", "reward", "forward", "backward", "optimizer")
LOOPS = ("trainer", "bare", "naive")


def config(out: str, **kwargs) -> VideoSCSTConfig:
    defaults = dict(
        output_dir=out, use_cpu=True, per_device_train_batch_size=32, num_generations=5, max_completion_length=16,
        save_strategy="no", logging_steps=1000, disable_tqdm=True, report_to="none", lr_scheduler_type="constant",
        learning_rate=1e-5, seed=0,
    )
    defaults.update(kwargs)
    return VideoSCSTConfig(**defaults)


class NaiveSCST:
    """The textbook loop: every caption sees its own copy of the video, so the vision tower runs B (greedy) +
    B * K (sampling) + B * K (teacher-forced loss) times per step. Same decoding, reward and loss as the trainer."""

    def __init__(self, model, processor, reward, k: int, max_len: int, lr: float):
        self.model, self.processor, self.reward, self.k = model, processor, reward, k
        self.greedy = make_generation_config(processor, max_len)
        self.sample = make_generation_config(processor, max_len, do_sample=True)
        self.optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)

    def _generate(self, pixel_values, config):
        prefix = torch.tensor([self.processor.prefix_ids()] * pixel_values.shape[0])
        out = self.model.generate(pixel_values=pixel_values, input_ids=prefix, generation_config=config)
        return trim_at_eos(out[:, prefix.shape[1] :], config.eos_token_id, config.pad_token_id)

    def step(self, batch) -> dict[str, float]:
        times, k = {}, self.k
        start = time.perf_counter()
        pixel_values, columns = batch["pixel_values"], batch["columns"]
        self.model.eval()
        with torch.no_grad():
            t = time.perf_counter()
            greedy_ids, _ = self._generate(pixel_values, self.greedy)
            sample_ids, sample_mask = self._generate(pixel_values.repeat_interleave(k, 0), self.sample)
            times["generate"] = time.perf_counter() - t
        t = time.perf_counter()
        texts = self.processor.decode_captions(sample_ids)
        greedy_texts = self.processor.decode_captions(greedy_ids)
        refs = columns["captions"]
        rewards = torch.tensor(self.reward(texts, captions=[r for r in refs for _ in range(k)]))
        baseline = torch.tensor(self.reward(greedy_texts, captions=refs)).repeat_interleave(k)
        times["reward"] = time.perf_counter() - t
        self.model.train()
        t = time.perf_counter()
        prefix = torch.tensor([self.processor.prefix_ids()] * sample_ids.shape[0])
        input_ids = torch.cat([prefix, sample_ids], 1)
        attention = torch.cat([torch.ones_like(prefix), sample_mask], 1)
        logits = self.model(pixel_values=pixel_values.repeat_interleave(k, 0), input_ids=input_ids, attention_mask=attention).logits
        logprobs = torch.log_softmax(logits[:, prefix.shape[1] - 1 : -1].float(), -1).gather(-1, sample_ids.unsqueeze(-1)).squeeze(-1)
        loss = -((rewards - baseline) * (logprobs * sample_mask).sum(1)).mean()
        times["forward"] = time.perf_counter() - t
        t = time.perf_counter()
        loss.backward()
        times["backward"] = time.perf_counter() - t
        t = time.perf_counter()
        self.optimizer.step()
        self.optimizer.zero_grad()
        times["optimizer"] = time.perf_counter() - t
        times["step"] = time.perf_counter() - start
        return times


class BareSCST(NaiveSCST):
    """The hand-written loop of the prototype in ../shared/FACTS.md on the same model: encode the batch once (with
    gradients), greedy captions and K samples in two `generate` calls from the encoding, the same CIDEr-D reward,
    the teacher-forced forward on the encoding repeated K times, backward, AdamW. The trainer's step does the same
    work and should never be slower."""

    def step(self, batch) -> dict[str, float]:
        times, k, model = {}, self.k, self.model
        start = time.perf_counter()
        pixel_values, columns = batch["pixel_values"], batch["columns"]
        t = time.perf_counter()
        embeds = model.get_video_embeds(pixel_values)
        times["encode"] = time.perf_counter() - t
        t = time.perf_counter()
        with torch.no_grad():
            frozen = embeds.detach()
            prefix = torch.tensor([self.processor.prefix_ids()] * frozen.shape[0])
            out = model.generate(video_embeds=frozen, input_ids=prefix, generation_config=self.greedy)
            greedy_ids, _ = trim_at_eos(out[:, prefix.shape[1] :], self.greedy.eos_token_id, self.greedy.pad_token_id)
            rows = prefix.repeat_interleave(k, 0)
            out = model.generate(video_embeds=frozen.repeat_interleave(k, 0), input_ids=rows, generation_config=self.sample)
            sample_ids, sample_mask = trim_at_eos(out[:, prefix.shape[1] :], self.sample.eos_token_id, self.sample.pad_token_id)
        times["generate"] = time.perf_counter() - t
        t = time.perf_counter()
        refs = columns["captions"]
        rewards = torch.tensor(self.reward(self.processor.decode_captions(sample_ids), captions=[r for r in refs for _ in range(k)]))
        baseline = torch.tensor(self.reward(self.processor.decode_captions(greedy_ids), captions=refs)).repeat_interleave(k)
        times["reward"] = time.perf_counter() - t
        t = time.perf_counter()
        input_ids = torch.cat([rows, sample_ids], 1)
        attention = torch.cat([torch.ones_like(rows), sample_mask], 1)
        logits = model(video_embeds=embeds.repeat_interleave(k, 0), input_ids=input_ids, attention_mask=attention).logits
        logprobs = torch.log_softmax(logits[:, rows.shape[1] - 1 : -1].float(), -1).gather(-1, sample_ids.unsqueeze(-1)).squeeze(-1)
        loss = -((rewards - baseline) * (logprobs * sample_mask).sum(1)).mean()
        times["forward"] = time.perf_counter() - t
        t = time.perf_counter()
        loss.backward()
        times["backward"] = time.perf_counter() - t
        t = time.perf_counter()
        self.optimizer.step()
        self.optimizer.zero_grad()
        times["optimizer"] = time.perf_counter() - t
        times["step"] = time.perf_counter() - start
        return times


def median(values):
    return statistics.median(values) if values else float("nan")


def bench_model(name: str, dataset, tokenizer, cli, workdir: Path) -> dict:
    size, frozen_vision = MODELS[name]
    kwargs = SIZES[size]
    torch.manual_seed(0)
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=kwargs.get("num_query_tokens", 8), image_size=64)
    model = create_tiny_video_blip2(tokenizer, **kwargs)
    num_params = sum(p.numel() for p in model.parameters())
    collator = VideoCaptionCollator(processor, num_frames=8)
    train = dataset["train"]
    reward = get_cider_d_reward(train["captions"])

    xe_steps = cli.xe_steps[size]
    xe = VideoSCSTTrainer(
        model, reward, config(str(workdir / "xe"), max_steps=xe_steps, xe_warmup_steps=xe_steps, learning_rate=3e-3),
        train, None, processor, collator,
    )
    xe.train()
    if frozen_vision:
        model.vision_model.requires_grad_(False)

    vision_calls, generate_calls = [0], [0]
    # Videos through the vision tower: the hook sees (videos * frames) images per call.
    model.vision_model.register_forward_hook(
        lambda module, args, kwargs, output: vision_calls.__setitem__(0, vision_calls[0] + kwargs["pixel_values"].shape[0] / 8),
        with_kwargs=True,
    )
    original_generate = model.language_model.generate

    def counted_generate(*args, **kw):
        generate_calls[0] += 1
        return original_generate(*args, **kw)

    model.language_model.generate = counted_generate
    loops = {"naive": NaiveSCST(model, processor, reward, k=5, max_len=16, lr=1e-5)}
    loops["bare"] = BareSCST(model, processor, reward, k=5, max_len=16, lr=1e-5)
    batches = [collator([train[(s * 32 + i) % len(train)] for i in range(32)]) for s in range(2)]
    steps = {"trainer": [], "naive": [], "bare": []}
    ratios = {"naive": [], "bare": []}
    calls = {"trainer": [], "naive": [], "bare": []}
    for round_ in range(cli.rounds):
        trainer = VideoSCSTTrainer(
            model, reward,
            config(str(workdir / f"scst{round_}"), max_steps=cli.warmup + cli.steps, seed=round_, cache_video_features=frozen_vision),
            train, None, processor, collator,
        )
        vision_calls[0] = generate_calls[0] = 0
        trainer.train()
        measured = trainer.step_timings[cli.warmup :]
        calls["trainer"].append((vision_calls[0] / (cli.warmup + cli.steps), generate_calls[0] / (cli.warmup + cli.steps)))
        steps["trainer"] += measured
        trainer_median = median([t["step"] for t in measured])
        line = f"[{name}] round {round_}: trainer {trainer_median * 1e3:.1f} ms"
        for loop_name, loop in loops.items():
            vision_calls[0] = generate_calls[0] = 0
            loop_round = []
            for s in range(cli.warmup + cli.steps):
                times = loop.step(batches[s % 2])
                if s >= cli.warmup:
                    loop_round.append(times)
            calls[loop_name].append((vision_calls[0] / (cli.warmup + cli.steps), generate_calls[0] / (cli.warmup + cli.steps)))
            steps[loop_name] += loop_round
            ratios[loop_name].append(median([t["step"] for t in loop_round]) / trainer_median)
            line += f", {loop_name} {median([t['step'] for t in loop_round]) * 1e3:.1f} ms"
        print(line, flush=True)

    def split(steps):
        out = {phase: median([t.get(phase, 0.0) for t in steps]) * 1e3 for phase in (*PHASES, "step")}
        others = [t["step"] - sum(t.get(p, 0.0) for p in PHASES) for t in steps]
        out["other"] = median(others) * 1e3
        # The share of the step that is neither a forward/backward pass, generation nor the optimizer, per step.
        overhead = [(t.get("reward", 0.0) + o) / t["step"] for t, o in zip(steps, others)]
        out["reward_plus_other_share"] = median(overhead)
        return out

    splits = {loop: split(loop_steps) for loop, loop_steps in steps.items()}
    return {
        "model": name,
        "vision_tower": "frozen, outputs cached" if frozen_vision else "trained",
        "parameters": num_params,
        **{f"{loop}_ms": value for loop, value in splits.items()},
        "captions_per_s": {loop: 32 * 5 / value["step"] * 1e3 for loop, value in splits.items()},
        **{f"{loop}_over_trainer_step_ratio": {"median": median(r), "rounds": r} for loop, r in ratios.items()},
        "videos_encoded_per_step": {k: median([c[0] for c in v]) for k, v in calls.items()},
        "generate_calls_per_step": {k: median([c[1] for c in v]) for k, v in calls.items()},
        "xe_warmup_steps": xe_steps,
    }


def to_markdown(results: dict) -> str:
    lines = [
        "# One SCST step on CPU: where the time goes",
        "",
        f"32 videos x 8 frames, K = 5 samples + greedy baseline, CIDEr-D reward (SCST mode), every parameter trained "
        f"unless the vision tower is frozen, "
        f"{results['threads']} threads; medians over interleaved rounds (listed with the ratios below) of "
        f"{results['steps']} steps (after {results['warmup']} warm-up steps each). `python benchmarks/scst_step.py`.",
        "",
        "| model | loop | encode | generate | reward | forward | backward | optimizer | other | step (ms) | captions/s | reward+other share | videos encoded/step | generate calls/step |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["models"]:
        for loop in LOOPS:
            if f"{loop}_ms" not in r:
                continue
            s = r[f"{loop}_ms"]
            encode = f"{s['encode']:.1f}" if loop != "naive" else "(in generate/forward)"
            lines.append(
                f"| {r['model']} ({r['parameters'] / 1e6:.1f}M, vision {r['vision_tower']}) | {loop} | {encode} | {s['generate']:.1f} | {s['reward']:.1f} | "
                f"{s['forward']:.1f} | {s['backward']:.1f} | {s['optimizer']:.1f} | {s['other']:.1f} | {s['step']:.1f} | "
                f"{r['captions_per_s'][loop]:.0f} | {100 * s['reward_plus_other_share']:.1f}% | "
                f"{r['videos_encoded_per_step'][loop]:.0f} | {r['generate_calls_per_step'][loop]:.0f} |"
            )
    for loop in ("bare", "naive"):
        lines += ["", f"{loop.capitalize()} / trainer step time (median of per-round ratios; above 1: the trainer is faster):", ""]
        for r in results["models"]:
            ratio = r.get(f"{loop}_over_trainer_step_ratio")
            if ratio:
                lines.append(f"- {r['model']}: {ratio['median']:.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratio['rounds'])})")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--xe_steps_tiny", type=int, default=150)
    parser.add_argument("--xe_steps_20m", type=int, default=40)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "scst_step"))
    cli = parser.parse_args()
    cli.xe_steps = {"tiny": cli.xe_steps_tiny, "20M": cli.xe_steps_20m}

    tokenizer = build_shapes_tokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data_dir = generate_shapes_dataset(workdir / "shapes", ShapesWorldConfig(num_train=64, num_validation=8, num_test=8, seed=0))
        dataset = load_shapes_dataset(data_dir)
        results = {
            "threads": torch.get_num_threads(), "rounds": cli.rounds, "steps": cli.steps, "warmup": cli.warmup,
            "torch": torch.__version__, "models": [],
        }
        for name in cli.models:
            results["models"].append(bench_model(name, dataset, tokenizer, cli, workdir / name))
    Path(cli.out).parent.mkdir(parents=True, exist_ok=True)
    previous = Path(cli.out + ".json")
    if previous.exists() and set(cli.models) != set(MODELS):
        # A partial run (--models ...) replaces its models' rows and keeps the others'.
        kept = [r for r in json.loads(previous.read_text())["models"] if r["model"] not in cli.models]
        results["models"] = sorted(kept + results["models"], key=lambda r: list(MODELS).index(r["model"]))
    Path(cli.out + ".json").write_text(json.dumps(results, indent=2) + "\n")
    Path(cli.out + ".md").write_text(to_markdown(results))
    print(to_markdown(results))


if __name__ == "__main__":
    main()

"""SCST at real size on one GPU: the published BLIP-2 architectures and Qwen2.5-VL-7B (random init, bf16), LoRA r=8 on q/v, 16 frames,
K = 5 sampled captions of 30 tokens plus the greedy baseline, CIDEr-D reward: samples/s, the step's split, peak memory
and an estimate of model FLOPs utilisation (MFU).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gpu_scst.py                                # every model, on cuda
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gpu_scst.py --models blip2-opt-2.7b --batch 16

Random weights: the captions run to the length cap (30 tokens), the costliest case. The tokenizer is the shapes
world's, padded with dummy words to the checkpoint's vocabulary size so that the embedding and output layers have
their real size. MFU counts 2 FLOPs per parameter per token through the language model (generation: the video's
visual tokens, prompt and every generated token, K + 1 captions; the teacher-forced forward: K captions; the
backward: twice the forward, input gradients plus LoRA) and through the vision tower (every frame's patches, once
per video), over the measured step time, against ``--peak-tflops`` (989: an H100/H200's dense bf16). A model that
does not fit is reported as such (its out-of-memory error), not skipped silently.

It runs on CPU with tiny sizes in the test suite (``--models tiny --device cpu``) so that it cannot rot; the figures
are only meaningful on a GPU. Writes ``--output``.json and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

MODELS = {
    "blip2-flan-t5-xl": "Salesforce/blip2-flan-t5-xl",
    "blip2-opt-2.7b": "Salesforce/blip2-opt-2.7b",
    "blip2-flan-t5-xxl": "Salesforce/blip2-flan-t5-xxl",  # fits one 80-141 GB GPU with LoRA in bf16, or not
    "qwen2.5-vl-7b": "Qwen/Qwen2.5-VL-7B-Instruct",  # the largest video VLM of hf_vidcap.models.vlm's configs
    "tiny": None,  # the CPU smoke test
    "tiny-vlm": None,  # the CPU smoke test of the VLM path
}
VLMS = ("qwen2.5-vl-7b", "tiny-vlm")
# Qwen/Qwen2.5-VL-7B-Instruct's config.json (the published architecture), built offline.
QWEN25_VL_7B = {
    "text_config": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                        vocab_size=152064, max_position_embeddings=128000, rope_theta=1e6, rms_norm_eps=1e-6, tie_word_embeddings=False,
                        rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]}),
    "vision_config": dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=3584, patch_size=14,
                          spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[7, 15, 23, 31], tokens_per_second=2),
}
PHASES = ("encode", "generate", "reward", "forward", "backward", "optimizer")


def padded_tokenizer(vocab_size: int | None):
    """The shapes tokenizer (its words caption the videos), padded with dummy words to ``vocab_size`` entries."""
    from hf_vidcap.data import build_shapes_tokenizer, shapes_vocabulary

    tokenizer = build_shapes_tokenizer()
    if vocab_size is None or vocab_size <= len(tokenizer):
        return tokenizer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
    words = specials + shapes_vocabulary()
    words += [f"w{i}" for i in range(vocab_size - len(words))]
    backend = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        extra_special_tokens={"image_token": "<image>"},
    )


def build(name: str, frames: int, dtype, device: str):
    """(model, processor) of ``name``: the published architecture (random init) or the tiny one."""
    import torch

    from hf_vidcap.models import (
        VideoBlip2ForConditionalGeneration,
        VideoBlip2Processor,
        checkpoint_config,
        create_tiny_video_blip2,
    )

    if name in VLMS:
        return build_vlm(name, frames, dtype, device)
    if MODELS[name] is None:
        tokenizer = padded_tokenizer(None)
        model = create_tiny_video_blip2(tokenizer, num_frames=frames, image_size=32, patch_size=8)
        processor = VideoBlip2Processor(tokenizer, num_query_tokens=model.config.num_query_tokens, image_size=32)
    else:
        config = checkpoint_config(MODELS[name], num_frames=frames)
        tokenizer = padded_tokenizer(config.text_config.vocab_size)
        config.image_token_index = tokenizer.convert_tokens_to_ids("<image>")
        for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
            setattr(config.text_config, key, getattr(tokenizer, key))
        config.text_config.decoder_start_token_id = tokenizer.pad_token_id
        with torch.device(device):
            model = VideoBlip2ForConditionalGeneration(config)
        processor = VideoBlip2Processor(tokenizer, num_query_tokens=config.num_query_tokens, image_size=config.vision_config.image_size)
    return model.to(device=device, dtype=dtype), processor


def build_vlm(name: str, frames: int, dtype, device: str):
    """(model, processor) of a video VLM: Qwen2.5-VL-7B's published architecture with a word-level chat tokenizer padded
    to its vocabulary and Qwen2-VL's real processor classes at 224 x 224 (random init), or the tiny one."""
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    from hf_vidcap.models.vlm import VideoVLMProcessor, as_video_captioner
    from hf_vidcap.models.vlm.tiny import (
        _QWEN_SPECIAL,
        _QWEN_TEMPLATE,
        build_tiny_chat_tokenizer,
        create_tiny_video_vlm,
    )

    if MODELS[name] is None:
        model, processor = create_tiny_video_vlm("qwen2_5_vl", num_frames=frames)
        return model.to(device=device, dtype=dtype), processor
    tokenizer = build_tiny_chat_tokenizer(_QWEN_SPECIAL, eos="<|im_end|>", pad="<|endoftext|>", vocab_size=QWEN25_VL_7B["text_config"]["vocab_size"])
    tokenizer.chat_template = _QWEN_TEMPLATE
    pixels = 224 * 224
    inner = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=pixels, max_pixels=pixels), tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(min_pixels=pixels, max_pixels=pixels, do_sample_frames=False), chat_template=_QWEN_TEMPLATE,
    )
    processor = VideoVLMProcessor(inner, num_frames=frames, image_size=224, prompt="describe this video .")
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config={**QWEN25_VL_7B["text_config"], "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id, "bos_token_id": None},
        vision_config=QWEN25_VL_7B["vision_config"], video_token_id=ids("<|video_pad|>"), image_token_id=ids("<|image_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id, model.generation_config.pad_token_id = tokenizer.eos_token_id, tokenizer.pad_token_id
    return as_video_captioner(model.to(device=device, dtype=dtype), processor), processor


def vlm_flops_per_step(model, processor, batch: int, k: int, frames: int, length: int) -> float:
    """As `flops_per_step` for a video VLM: the vision tower over every frame's patches, the language model over the
    prompt (its video tokens included) and the captions."""
    vision = sum(p.numel() for p in model.vision_model.parameters())
    language = sum(p.numel() for p in model.model.language_model.parameters())
    patches = frames * (processor.image_size // model.config.vision_config.patch_size) ** 2
    prompt = len(processor.prefix_ids())
    generated = batch * (k + 1) * (prompt + length)
    forward = batch * k * (prompt + length)
    return 2.0 * vision * batch * patches + 2.0 * language * (generated + 3 * forward)


def flops_per_step(model, batch: int, k: int, frames: int, length: int) -> float:
    """Model FLOPs of one SCST step (see the module docstring)."""
    vision = sum(p.numel() for p in model.vision_model.parameters())
    language = sum(p.numel() for p in model.language_model.parameters())
    size, patch = model.config.vision_config.image_size, model.config.vision_config.patch_size
    patches = (size // patch) ** 2 + 1
    visual_tokens = model.config.num_query_tokens
    generated = batch * (k + 1) * (visual_tokens + length)
    forward = batch * k * (visual_tokens + length)
    return 2.0 * vision * batch * frames * patches + 2.0 * language * (generated + 3 * forward)


def run_model(name: str, args) -> dict:
    import torch

    from hf_vidcap.data import ShapesWorldConfig, generate_shapes_dataset, load_shapes_dataset
    from hf_vidcap.models import get_default_lora_config
    from hf_vidcap.rewards import get_cider_d_reward
    from hf_vidcap.trainer import VideoSCSTConfig, VideoSCSTTrainer

    dtype = getattr(torch, args.dtype)
    steps = args.warmup + args.steps
    with tempfile.TemporaryDirectory() as tmp:
        world = ShapesWorldConfig(num_train=args.batch * steps, num_validation=1, num_test=1, num_frames=args.frames, seed=0)
        train = load_shapes_dataset(generate_shapes_dataset(Path(tmp) / "shapes", world))["train"]
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        try:
            model, processor = build(name, args.frames, dtype, args.device)
            parameters = sum(p.numel() for p in model.parameters())
            config = VideoSCSTConfig(
                output_dir=str(Path(tmp) / "run"), per_device_train_batch_size=args.batch, num_generations=args.k,
                max_completion_length=args.length, max_steps=steps, learning_rate=1e-5, lr_scheduler_type="constant",
                num_frames=args.frames, bf16=args.dtype == "bfloat16" and args.device.startswith("cuda"),
                use_cpu=args.device == "cpu", save_strategy="no", logging_steps=1000, report_to="none", disable_tqdm=True,
                training_curves=False, dataloader_num_workers=2 if args.device.startswith("cuda") else 0, seed=0,
            )
            trainer = VideoSCSTTrainer(
                model, get_cider_d_reward(train["captions"]), config, train, None, processor,
                peft_config=get_default_lora_config(model, r=8),
            )
            start = time.perf_counter()
            trainer.train()
            wall = time.perf_counter() - start
        except torch.OutOfMemoryError as error:
            return {"model": name, "fits": False, "error": str(error).splitlines()[0]}
        measured = trainer.step_timings[args.warmup :]
        step = statistics.median(t["step"] for t in measured)
        base = trainer.model.get_base_model() if hasattr(trainer.model, "get_base_model") else model
        if name in VLMS:
            flops = vlm_flops_per_step(base, processor, args.batch, args.k, args.frames, args.length)
        else:
            flops = flops_per_step(base, args.batch, args.k, args.frames, args.length)
        return {
            "model": name, "checkpoint": MODELS[name], "fits": True, "parameters": parameters, "device": args.device,
            "dtype": args.dtype, "batch": args.batch, "k": args.k, "frames": args.frames, "length": args.length,
            "steps_measured": len(measured), "wall_s": wall,
            "step_s": step, "split_s": {p: statistics.median(t.get(p, 0.0) for t in measured) for p in PHASES},
            "captions_per_s": args.batch * args.k / step, "videos_per_s": args.batch / step,
            "peak_memory_gb": torch.cuda.max_memory_allocated() / 2**30 if args.device.startswith("cuda") else None,
            "model_tflops_per_step": flops / 1e12, "mfu": flops / step / (args.peak_tflops * 1e12),
        }


def markdown(results: list[dict], args) -> str:
    lines = [
        "# SCST at real size (`benchmarks/gpu_scst.py`)",
        "",
        f"{args.device}, {args.dtype}; batch {args.batch} videos x {args.frames} frames, K = {args.k} samples + greedy, "
        f"{args.length} tokens, LoRA r=8 on q/v; medians over {args.steps} steps after {args.warmup} warm-up steps. "
        f"MFU against {args.peak_tflops:g} TFLOP/s (see the script's docstring for the FLOP count).",
        "",
        "| model | parameters | step s | captions/s | peak GB | MFU | encode / generate / reward / forward / backward / optimizer s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if not r["fits"]:
            lines.append(f"| {r['model']} | | out of memory: {r['error'][:80]} | | | | |")
            continue
        split = " / ".join(f"{r['split_s'][p]:.3f}" for p in PHASES)
        peak = "–" if r["peak_memory_gb"] is None else f"{r['peak_memory_gb']:.1f}"
        lines.append(
            f"| {r['model']} | {r['parameters'] / 1e9:.2f} B | {r['step_s']:.3f} | {r['captions_per_s']:.1f} | {peak} | "
            f"{100 * r['mfu']:.1f} % | {split} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=[m for m in MODELS if not m.startswith("tiny")], choices=list(MODELS))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--batch", type=int, default=8, help="videos per step")
    parser.add_argument("--k", type=int, default=5, help="sampled captions per video")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--length", type=int, default=30, help="max caption tokens")
    parser.add_argument("--steps", type=int, default=5, help="measured steps")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="the device's dense peak at --dtype")
    parser.add_argument("--output", default="benchmarks/results/gpu_scst")
    args = parser.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run this on a GPU machine, or try it with --models tiny --device cpu --dtype float32.")
    results = []
    for name in args.models:
        print(f"{name} ...", flush=True)
        results.append(run_model(name, args))
        print(json.dumps(results[-1]), flush=True)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")
    output.with_suffix(".md").write_text(markdown(results, args))
    print(markdown(results, args))
    return results


if __name__ == "__main__":
    sys.exit(main() and 0)

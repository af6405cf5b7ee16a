"""Tiny random checkpoints of every hf_vidcap captioner, written where the recipes can load them like any other
checkpoint (``model_name_or_path: <dir>``). Offline there are no pretrained weights; this is how the offline demo
and the recipe tests get a model, with no special branch in the recipe.

    python -m hf_vidcap.models.tiny_checkpoints video_blip2 outputs/tiny_video_blip2_shapes \
        --num_frames 8 --frame_differences append

The tokenizer is the synthetic shapes world's word-level one (`hf_vidcap.data.build_shapes_tokenizer`). The model's
frame count is the processor's (``processor.num_model_frames(num_frames)``: frame differences add T - 1 images).
"""

from __future__ import annotations

import argparse
import os

from .vlm.tiny import TINY_VLM_TYPES

TINY_MODEL_TYPES = ("video_blip2", "video_git", "ofa", *TINY_VLM_TYPES)


def save_tiny_checkpoint(
    model_type: str,
    output_dir: str | os.PathLike,
    num_frames: int = 8,
    frame_differences: str = "none",
    prompt: str = "",
    image_size: int = 64,
    seed: int = 0,
    use_temporal_embedding: bool = True,
):
    """Build a tiny random ``model_type`` captioner and its processor (seeded with ``seed``), save both to
    ``output_dir`` and return them. The prompt must be spelled in the shapes vocabulary (default: none)."""
    from transformers import set_seed

    from ..data import build_shapes_tokenizer
    from .blip2_video import VideoBlip2Processor, create_tiny_video_blip2
    from .git_video import VideoGitProcessor, create_tiny_video_git
    from .ofa import OFAProcessor, create_tiny_ofa

    if model_type not in TINY_MODEL_TYPES:
        raise ValueError(f"model_type ({model_type!r}) must be one of {list(TINY_MODEL_TYPES)}.")
    if num_frames < 1:
        raise ValueError(f"num_frames ({num_frames}) must be >= 1.")
    if model_type in TINY_VLM_TYPES:  # a transformers video VLM: its own tokenizer, processor and chat template
        from .vlm.tiny import create_tiny_video_vlm

        if frame_differences != "none":
            raise ValueError("the video VLMs take frames only (frame_differences='none').")
        model, processor = create_tiny_video_vlm(model_type, num_frames=num_frames, image_size=image_size, prompt=prompt or "describe this video .", seed=seed)
        model.save_pretrained(output_dir)
        processor.save_pretrained(output_dir)
        return model, processor
    tokenizer = build_shapes_tokenizer()
    settings = {"image_size": image_size, "frame_differences": frame_differences, "prompt": prompt}
    set_seed(seed)
    if model_type == "video_blip2":
        processor = VideoBlip2Processor(tokenizer, num_query_tokens=8, **settings)
        model = create_tiny_video_blip2(
            tokenizer,
            num_frames=processor.num_model_frames(num_frames),
            num_query_tokens=processor.num_query_tokens,
            image_size=image_size,
            use_temporal_embedding=use_temporal_embedding,
        )
    elif model_type == "video_git":
        processor = VideoGitProcessor(tokenizer, **settings)
        model = create_tiny_video_git(tokenizer, num_frames=processor.num_model_frames(num_frames), image_size=image_size, patch_size=16)
    else:
        processor = OFAProcessor(tokenizer, **settings)
        model = create_tiny_ofa(tokenizer, image_size=image_size)
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    return model, processor


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("model_type", choices=TINY_MODEL_TYPES, help="the captioner family")
    parser.add_argument("output_dir", help="where the checkpoint is saved")
    parser.add_argument("--num_frames", type=int, default=8, help="frames sampled per video")
    parser.add_argument("--frame_differences", choices=["none", "append", "replace"], default="none", help="motion input")
    parser.add_argument("--prompt", default="", help="text every caption continues, in the shapes vocabulary")
    parser.add_argument("--image_size", type=int, default=64, help="frame size the model takes")
    parser.add_argument("--seed", type=int, default=0, help="of the random weights")
    parser.add_argument("--no_temporal_embedding", action="store_true", help="video_blip2: no per-frame embedding")
    args = parser.parse_args(argv)
    model, _ = save_tiny_checkpoint(
        args.model_type, args.output_dir, args.num_frames, args.frame_differences, args.prompt, args.image_size,
        args.seed, not args.no_temporal_embedding,
    )
    count = sum(p.numel() for p in model.parameters())
    print(f"wrote a tiny random {type(model).__name__} ({count / 1e6:.2f}M parameters) to {args.output_dir}")


if __name__ == "__main__":
    main()

"""Stand-ins, on the synthetic shapes world, for the pretrained models the ReGen rewards use (no Hub offline):

- ``clip``: a small transformers `CLIPModel` trained contrastively (symmetric InfoNCE) on clips of a *pretraining*
  shapes world (its own seed, every action), each clip's video embedding being the mean of its frames'
  embeddings (as `CLIPEmbedder.encode_video`), against one of the clip's captions: the analogue of web-scale CLIP.
  A mean of frame embeddings cannot tell a motion from its reverse (moving left / right, growing / shrinking have
  the same frames in the opposite order), so video-text pairs alone never teach the text tower that "left" and
  "right" differ; web-scale CLIP learns that from other images. The stand-in gets it from a second, caption-caption
  InfoNCE term (``text_pair_weight``): two captions of the same clip are a positive pair, those of other clips
  negatives (co-occurrence, no labels). Its measured quality includes ``oracle_caption_action_accuracy``: a
  reference caption's nearest action name, the text-side accuracy the zero-shot protocol relies on.
- ``mlm``: a small `BertForMaskedLM` trained with 15% masking on the captions of that pretraining world: the
  analogue of the English masked LM GRAMMAR-R_LM scores with.

Neither sees the RL run's data: the pretraining world is generated with its own seed (``--world_seed``), and the
labels of the RL run's novel classes are never used (the CLIP stand-in learns action words from captions, as CLIP
learns from alt-text). Both are seeded and written with ``save_pretrained`` next to a ``standin.json`` holding the
training settings and the measured quality, and load with ``CLIPEmbedder.from_pretrained(dir)`` and
``get_mlm_grammar_reward(dir)``.

    python -m hf_vidcap.encoders.shapes_standins clip outputs/shapes_clip
    python -m hf_vidcap.encoders.shapes_standins mlm outputs/shapes_mlm

A directory that already holds a stand-in with the same settings is kept (cached on disk).
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

STANDIN_FILE = "standin.json"


def _cached(output_dir: Path, settings: dict) -> dict | None:
    path = output_dir / STANDIN_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("settings") == settings:
            return stored
    return None


def _pretraining_world(world_dir: str, num_clips: int, world_seed: int, num_validation: int = 200):
    from ..data import ShapesWorldConfig, generate_shapes_dataset, load_shapes_dataset

    config = ShapesWorldConfig(num_train=num_clips, num_validation=num_validation, num_test=8, seed=world_seed)
    return load_shapes_dataset(generate_shapes_dataset(world_dir, config))


def _tokenizer():
    from ..data import shapes_vocabulary
    from ..testing import build_word_tokenizer

    return build_word_tokenizer(shapes_vocabulary())


def _decode(split, num_frames: int, image_processor) -> torch.Tensor:
    """(N, T, 3, S, S) CLIP-normalised frames of every clip of ``split``."""
    from ..data.video import decode_video

    clips = []
    for row in split:
        frames = decode_video(row["video"], num_frames)
        clips.append(image_processor(images=list(frames), return_tensors="pt")["pixel_values"])
    return torch.stack(clips)


def _video_features(model, pixels: torch.Tensor) -> torch.Tensor:
    batch, frames = pixels.shape[:2]
    features = F.normalize(model.get_image_features(pixel_values=pixels.flatten(0, 1)).pooler_output, dim=-1)
    return F.normalize(features.view(batch, frames, -1).mean(dim=1), dim=-1)


def _text_features(model, tokenizer, texts: list[str]) -> torch.Tensor:
    tokens = tokenizer(texts, padding=True, return_tensors="pt")
    features = model.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).pooler_output
    return F.normalize(features, dim=-1)


@torch.no_grad()
def _clip_quality(model, tokenizer, pixels: torch.Tensor, split) -> dict:
    """Validation zero-shot action accuracy (video vs the 8 action names) and caption->video recall@1."""
    from ..data.shapes import ACTIONS

    model.eval()
    videos = _video_features(model, pixels)
    names = list(ACTIONS)
    actions = _text_features(model, tokenizer, names)
    predicted = (videos @ actions.T).argmax(dim=1).tolist()
    accuracy = float(np.mean([names[p] == a for p, a in zip(predicted, split["action"])]))
    captions = _text_features(model, tokenizer, [refs[0] for refs in split["captions"]])
    recall = float(((captions @ videos.T).argmax(dim=1) == torch.arange(len(videos))).double().mean())
    oracle = (captions @ actions.T).argmax(dim=1).tolist()
    oracle_accuracy = float(np.mean([names[p] == a for p, a in zip(oracle, split["action"])]))
    model.train()
    return {
        "zero_shot_action_accuracy": accuracy, "oracle_caption_action_accuracy": oracle_accuracy,
        "text_to_video_recall_at_1": recall, "num_validation_clips": len(videos),
    }


def train_shapes_clip(
    output_dir: str | os.PathLike,
    world_dir: str = "data/shapes_pretraining",
    num_clips: int = 2000,
    world_seed: int = 1000,
    steps: int = 1500,
    batch_size: int = 64,
    num_frames: int = 4,
    image_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = 0,
    num_validation: int = 200,
    text_pair_weight: float = 1.0,
) -> dict:
    """Train (or reuse) the CLIP stand-in; returns the ``standin.json`` record."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    settings = {
        "kind": "clip", "num_clips": num_clips, "world_seed": world_seed, "steps": steps, "batch_size": batch_size,
        "num_frames": num_frames, "image_size": image_size, "learning_rate": learning_rate, "seed": seed,
        "num_validation": num_validation, "text_pair_weight": text_pair_weight,
    }
    output_dir = Path(output_dir)
    cached = _cached(output_dir, settings)
    if cached is not None:
        return cached
    torch.manual_seed(seed)
    random.seed(seed)
    world = _pretraining_world(world_dir, num_clips, world_seed, num_validation)
    tokenizer = _tokenizer()
    image_processor = CLIPImageProcessor(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size})
    text = {"vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "max_position_embeddings": 32, "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    vision = {"image_size": image_size, "patch_size": 8, "hidden_size": 64, "intermediate_size": 128,
              "num_hidden_layers": 2, "num_attention_heads": 4}
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=64))
    train_pixels = _decode(world["train"], num_frames, image_processor)
    val_pixels = _decode(world["validation"], num_frames, image_processor)
    captions = world["train"]["captions"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for step in range(steps):
        index = torch.randperm(len(captions), generator=generator)[:batch_size]
        pairs = [random.sample(captions[i], 2) for i in index.tolist()]
        videos, words = _video_features(model, train_pixels[index]), _text_features(model, tokenizer, [a for a, _ in pairs])
        scale = model.logit_scale.exp().clamp(max=100)
        logits = scale * videos @ words.T
        target = torch.arange(len(index))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        if text_pair_weight > 0:  # two captions of one clip against the other clips' captions
            others = _text_features(model, tokenizer, [b for _, b in pairs])
            text_logits = scale * words @ others.T
            loss = loss + text_pair_weight * (F.cross_entropy(text_logits, target) + F.cross_entropy(text_logits.T, target)) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % 250 == 0:
            print(f"clip stand-in: step {step + 1}/{steps}, loss {np.mean(losses[-250:]):.3f}", flush=True)
    record = {"settings": settings, "final_loss": float(np.mean(losses[-50:])), **_clip_quality(model, tokenizer, val_pixels, world["validation"])}
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    image_processor.save_pretrained(output_dir)
    (output_dir / STANDIN_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def train_shapes_mlm(
    output_dir: str | os.PathLike,
    world_dir: str = "data/shapes_pretraining",
    num_clips: int = 2000,
    world_seed: int = 1000,
    steps: int = 1000,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    num_validation: int = 200,
) -> dict:
    """Train (or reuse) the masked-LM stand-in on the pretraining world's captions; returns its record (with the
    validation masked-token accuracy)."""
    from transformers import BertConfig, BertForMaskedLM

    settings = {
        "kind": "mlm", "num_clips": num_clips, "world_seed": world_seed, "steps": steps, "batch_size": batch_size,
        "learning_rate": learning_rate, "seed": seed, "num_validation": num_validation,
    }
    output_dir = Path(output_dir)
    cached = _cached(output_dir, settings)
    if cached is not None:
        return cached
    torch.manual_seed(seed)
    world = _pretraining_world(world_dir, num_clips, world_seed, num_validation)
    tokenizer = _tokenizer()
    model = BertForMaskedLM(BertConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
        max_position_embeddings=32, pad_token_id=tokenizer.pad_token_id,
    ))
    train = [c for refs in world["train"]["captions"] for c in refs]
    validation = [c for refs in world["validation"]["captions"] for c in refs]
    specials = torch.tensor(sorted({tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id}))

    def masked(texts, generator):
        tokens = tokenizer(texts, padding=True, return_tensors="pt")
        ids = tokens["input_ids"]
        maskable = ~torch.isin(ids, specials)
        chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & maskable
        chosen[torch.arange(len(ids)), maskable.float().argmax(dim=1)] |= ~chosen.any(dim=1)  # at least one per row
        labels = ids.masked_fill(~chosen, -100)
        return ids.masked_fill(chosen, tokenizer.mask_token_id), tokens["attention_mask"], labels

    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        order = torch.randint(len(train), (batch_size,), generator=generator).tolist()
        ids, mask, labels = masked([train[i] for i in order], generator)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (step + 1) % 250 == 0:
            print(f"mlm stand-in: step {step + 1}/{steps}, loss {loss.item():.3f}", flush=True)
    model.eval()
    with torch.no_grad():
        ids, mask, labels = masked(validation[:1000], torch.Generator().manual_seed(seed + 1))
        predictions = model(input_ids=ids, attention_mask=mask).logits.argmax(dim=-1)
        accuracy = float((predictions[labels != -100] == labels[labels != -100]).double().mean())
    record = {"settings": settings, "validation_masked_token_accuracy": accuracy}
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    (output_dir / STANDIN_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["clip", "mlm"])
    parser.add_argument("output_dir")
    parser.add_argument("--world_dir", default="data/shapes_pretraining")
    parser.add_argument("--num_clips", type=int, default=2000)
    parser.add_argument("--world_seed", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=None, help="default: 1500 (clip), 1000 (mlm)")
    parser.add_argument("--num_validation", type=int, default=200, help="held-out clips the quality is measured on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    common = {
        "world_dir": args.world_dir, "num_clips": args.num_clips, "world_seed": args.world_seed, "seed": args.seed,
        "num_validation": args.num_validation,
    }
    if args.steps is not None:
        common["steps"] = args.steps
    record = (train_shapes_clip if args.kind == "clip" else train_shapes_mlm)(args.output_dir, **common)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()

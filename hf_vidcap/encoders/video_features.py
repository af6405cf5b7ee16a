"""One feature vector per video from a frozen transformers video encoder (VideoMAE, TimeSformer, X-CLIP, ViViT,
... through the Auto classes), computed once and cached on disk (CLASTER's input; any method on frozen features).

    >>> from hf_vidcap.encoders import VideoFeatureExtractor
    >>> extractor = VideoFeatureExtractor.from_pretrained("MCG-NJU/videomae-base", cache_dir="features")  # doctest: +SKIP
    >>> train = extractor.add_to_dataset(train)  # a "video_features" column  # doctest: +SKIP

Pooling: ``"auto"`` takes the encoder's video embedding when it has one (``get_video_features``: X-CLIP), else its
``pooler_output``, else the mean of the last hidden states over tokens (VideoMAE, TimeSformer, ViViT).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from ..data.feature_cache import VisionFeatureCache, video_identity
from ..data.video import decode_video

POOLINGS = ("auto", "mean", "cls", "pooler")


def _frames_of(config) -> int | None:
    for candidate in (config, getattr(config, "vision_config", None)):
        if candidate is not None and getattr(candidate, "num_frames", None):
            return int(candidate.num_frames)
    return None


class VideoFeatureExtractor:
    """Frozen video encoder + its processor -> one vector per video.

    Args:
        model (`transformers.PreTrainedModel`): the video encoder (kept frozen, in eval mode).
        processor: its video processor (`AutoVideoProcessor`) or image processor taking lists of frames.
        num_frames (`int`, *optional*): frames sampled uniformly per video (default: the model's ``num_frames``).
        pooling (`str`, *optional*, defaults to `"auto"`): see the module docstring.
        batch_size (`int`, *optional*, defaults to 8): videos per forward pass.
        cache_dir (`str`, *optional*): where features are cached (keyed by the model's weights, the settings and
            each video's identity); `None` computes every time.
        short_video (`str`, *optional*, defaults to `"error"`): videos with fewer frames: ``"error"``,
            ``"repeat"`` or ``"pad"``.
        decoder (`str`, *optional*, defaults to `"pyav"`).
    """

    def __init__(self, model, processor, num_frames: int | None = None, pooling: str = "auto", batch_size: int = 8,
                 cache_dir: str | os.PathLike | None = None, short_video: str = "error", decoder: str = "pyav"):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling {pooling!r} is unknown; use one of {POOLINGS}.")
        num_frames = num_frames or _frames_of(model.config)
        if not num_frames or num_frames < 1:
            raise ValueError("num_frames is required: the model's config names no num_frames.")
        self.model = model.eval().requires_grad_(False)
        self.processor, self.num_frames, self.pooling, self.batch_size = processor, int(num_frames), pooling, batch_size
        self.short_video, self.decoder = short_video, decoder
        self.cache = None
        if cache_dir is not None:
            settings = {"num_frames": self.num_frames, "pooling": pooling, "sampling": "uniform", "short_video": short_video,
                        "processor": processor.to_dict() if hasattr(processor, "to_dict") else repr(processor)}
            self.cache = VisionFeatureCache(cache_dir, model, settings)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, revision: str | None = None, token=None, **kwargs) -> VideoFeatureExtractor:
        """The encoder through `AutoModel` and its processor through `AutoVideoProcessor` (or `AutoImageProcessor`
        for checkpoints that only ship an image processor)."""
        from transformers import AutoImageProcessor, AutoModel, AutoVideoProcessor

        hub = {"revision": revision, "token": token}
        model = AutoModel.from_pretrained(name_or_path, **hub)
        try:
            processor = AutoVideoProcessor.from_pretrained(name_or_path, **hub)
        except (OSError, ValueError, KeyError):
            processor = AutoImageProcessor.from_pretrained(name_or_path, **hub)
        return cls(model, processor, **kwargs)

    @torch.inference_mode()
    def encode(self, clips: Sequence) -> torch.Tensor:
        """Features (N, D) of decoded clips, each (T, H, W, 3) uint8."""
        device = next(self.model.parameters()).device
        try:
            inputs = self.processor(videos=list(clips), return_tensors="pt")
        except TypeError:  # image processors take a list of frames per video
            inputs = self.processor([list(c) for c in clips], return_tensors="pt")
        pixels = inputs.get("pixel_values_videos", inputs.get("pixel_values")).to(device, self.model.dtype)
        if self.pooling in ("auto",) and hasattr(self.model, "get_video_features"):
            out = self.model.get_video_features(pixel_values=pixels)
            pooled = out if torch.is_tensor(out) else out.pooler_output
        else:
            out = self.model(pixel_values=pixels)
            pooler = getattr(out, "pooler_output", None)
            if self.pooling == "pooler" or (self.pooling == "auto" and pooler is not None):
                if pooler is None:
                    raise ValueError(f"{type(self.model).__name__} has no pooler_output; use pooling='mean' or 'cls'.")
                pooled = pooler
            elif self.pooling == "cls":
                pooled = out.last_hidden_state[:, 0]
            else:
                pooled = out.last_hidden_state.mean(dim=1)
        return pooled.float().reshape(len(clips), -1).cpu()

    def __call__(self, videos: Sequence, video_ids: Sequence[str] | None = None) -> torch.Tensor:
        """Features (N, D) of videos (paths or `datasets.Video(decode=False)` values), from the cache when there."""
        videos = list(videos)
        video_ids = list(video_ids) if video_ids is not None else [str(i) for i in range(len(videos))]
        if len(video_ids) != len(videos):
            raise ValueError(f"got {len(video_ids)} video ids for {len(videos)} videos.")

        def compute(rows: list[int]) -> torch.Tensor:
            chunks = []
            for start in range(0, len(rows), self.batch_size):
                part = rows[start : start + self.batch_size]
                clips = [decode_video(videos[i], self.num_frames, sample_name=video_ids[i], short_video=self.short_video, decoder=self.decoder) for i in part]
                chunks.append(self.encode(clips))
            return torch.cat(chunks)

        if self.cache is None:
            return compute(list(range(len(videos))))
        keys = [f"{vid}|{video_identity(video)}" for vid, video in zip(video_ids, videos)]
        return self.cache.get_or_compute(keys, compute)

    def add_to_dataset(self, dataset, column: str = "video_features", video_column: str = "video", id_column: str = "video_id"):
        """``dataset`` with a ``column`` of feature vectors (one list of floats per video)."""
        if video_column not in dataset.column_names:
            raise ValueError(f"the dataset has no {video_column!r} column (columns: {dataset.column_names}).")
        videos = dataset.cast_column(video_column, _undecoded(dataset.features[video_column]))[video_column]
        ids = dataset[id_column] if id_column in dataset.column_names else None
        features = self(videos, ids)
        if column in dataset.column_names:
            dataset = dataset.remove_columns(column)
        return dataset.add_column(column, features.tolist())


def _undecoded(feature):
    import datasets

    return datasets.Video(decode=False) if isinstance(feature, datasets.Video) else feature


def train_video_classifier(model, processor, dataset, num_frames: int | None = None, steps: int = 1000, learning_rate: float = 1e-3,
                           batch_size: int = 32, seed: int = 0, label_column: str = "label", video_column: str = "video") -> dict:
    """Fine-tune a transformers video classifier (``AutoModelForVideoClassification``: VideoMAE, TimeSformer, ViViT,
    ...) on a dataset's classes, e.g. the seen classes of a zero-shot split, so that its features carry what tells
    actions apart without ever seeing an unseen class (the labels are re-indexed over the classes present, and
    ``model.config.id2label`` names them). Clips are decoded once (uniform frames) and kept in memory.

    Returns:
        ``{"classes": [...], "final_loss": ..., "train_accuracy": ...}``.
    """
    num_frames = num_frames or _frames_of(model.config)
    if not num_frames:
        raise ValueError("num_frames is required: the model's config names no num_frames.")
    labels = dataset[label_column]
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError(f"training a classifier needs at least two classes; the dataset has {len(classes)}.")
    if model.config.num_labels != len(classes):
        raise ValueError(f"the model has num_labels={model.config.num_labels} but the dataset holds {len(classes)} classes.")
    position = {c: i for i, c in enumerate(classes)}
    names = dataset.features[label_column].names if hasattr(dataset.features[label_column], "names") else [str(c) for c in range(max(classes) + 1)]
    model.config.id2label = {i: names[c] for i, c in enumerate(classes)}
    model.config.label2id = {v: k for k, v in model.config.id2label.items()}
    videos = dataset.cast_column(video_column, _undecoded(dataset.features[video_column]))[video_column]
    ids = dataset["video_id"] if "video_id" in dataset.column_names else [str(i) for i in range(len(videos))]
    clips = [decode_video(video, num_frames, sample_name=vid) for video, vid in zip(videos, ids)]
    pixels = processor(videos=clips, return_tensors="pt")
    pixels = pixels.get("pixel_values_videos", pixels.get("pixel_values"))
    targets = torch.tensor([position[c] for c in labels])
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        rows = torch.randint(len(targets), (min(batch_size, len(targets)),), generator=generator)
        loss = model(pixel_values=pixels[rows], labels=targets[rows]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(pixel_values=pixels[i : i + batch_size]).logits.argmax(-1) for i in range(0, len(targets), batch_size)])
    return {"classes": classes, "final_loss": loss.item(), "train_accuracy": float((predictions == targets).float().mean())}


def save_tiny_video_encoder(output_dir: str | os.PathLike, image_size: int = 64, num_frames: int = 8, hidden_size: int = 64, seed: int = 0) -> str:
    """Write a tiny random `VideoMAEForVideoClassification` (patches of 16 pixels, tubelets of 2 frames, 2 layers)
    and its video processor: the shapes world's video encoder before `train_video_classifier` fine-tunes it."""
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification, VideoMAEVideoProcessor

    torch.manual_seed(seed)
    config = VideoMAEConfig(
        image_size=image_size, patch_size=16, num_channels=3, num_frames=num_frames, tubelet_size=2, hidden_size=hidden_size,
        num_hidden_layers=2, num_attention_heads=4, intermediate_size=2 * hidden_size, num_labels=2,
    )
    VideoMAEForVideoClassification(config).save_pretrained(output_dir)
    VideoMAEVideoProcessor(size={"height": image_size, "width": image_size}, do_center_crop=False).save_pretrained(output_dir)
    return os.fspath(output_dir)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Write a tiny random VideoMAE video encoder (the shapes world's).")
    parser.add_argument("output_dir")
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--num_frames", type=int, default=8)
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(save_tiny_video_encoder(args.output_dir, args.image_size, args.num_frames, args.hidden_size, args.seed))


if __name__ == "__main__":
    main()

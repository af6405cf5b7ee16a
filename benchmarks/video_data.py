"""Video data speed, measured side by side in one run.

1. Decoding: frames/s delivered by each installed decoder (`hf_vidcap.data.available_decoders`) for 8 uniformly
   sampled frames, on short small clips (the shapes world: 16 frames, 64 px) and on longer clips (240 frames,
   320 x 240, H.264 at CRF 23, like a 10 s MSR-VTT clip at 24 fps), plus PyAV decoding and converting every frame before sampling
   (what `decode_video` did before it converted only the sampled frames). Rounds interleave the decoders; medians.
2. Vision-feature cache: a frozen ViT-S-sized vision tower (12 layers, 384 wide, 224 px, patch 16) over 16 videos
   x 8 frames for two epochs, without a cache (the tower runs every epoch) and with the on-disk
   `VisionFeatureCache` (epoch 1 computes and writes, epoch 2 reads). Every epoch decodes the videos, as the
   collator does. The speed-up is epoch-2 time without the cache over epoch-2 time with it.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/video_data.py

Writes benchmarks/results/video_data.json and .md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hf_vidcap.data import available_decoders, decode_video
from hf_vidcap.data.feature_cache import VisionFeatureCache, model_fingerprint
from hf_vidcap.data.shapes import write_video

RESULTS = Path(__file__).resolve().parent / "results"


def write_lossy(path: Path, frames: np.ndarray, fps: int = 24) -> None:
    """H.264 yuv420p at CRF 23, as distributed video datasets are encoded (the shapes world is lossless)."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_clips(directory: Path, count: int, frames: int, height: int, width: int, seed: int, lossless: bool) -> list[str]:
    rng = np.random.default_rng(seed)
    paths = []
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(count):
        # A textured background panning and a bright disc moving across it, with a little noise.
        phase = rng.uniform(0, 6.3)
        video = np.empty((frames, height, width, 3), dtype=np.uint8)
        for t in range(frames):
            background = 128 + 60 * np.sin((x + 2 * t) / 17 + phase) * np.cos((y - t) / 23)
            disc = ((x - (t * width / frames)) ** 2 + (y - height / 2) ** 2) < (height / 6) ** 2
            image = np.stack([background, background * 0.8 + 40 * disc, background * 0.6], axis=-1) + rng.normal(0, 3, (height, width, 3))
            video[t] = np.clip(image, 0, 255)
        path = directory / f"clip_{frames}_{i}.mp4"
        if lossless:
            write_video(path, video, fps=24)
        else:
            write_lossy(path, video)
        paths.append(str(path))
    return paths


def decode_all_then_sample(path: str, num_frames: int) -> np.ndarray:
    import av

    with av.open(path) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    edges = np.linspace(0, len(frames), num_frames + 1)
    return np.stack([frames[i] for i in ((edges[:-1] + edges[1:]) / 2).astype(int)])


def bench_decoding(clips: dict[str, list[str]], rounds: int, num_frames: int) -> dict:
    methods = {name: (lambda p, n=name: decode_video(p, num_frames, decoder=n)) for name in available_decoders()}
    methods["pyav, every frame converted"] = lambda p: decode_all_then_sample(p, num_frames)
    results = {}
    for clip_set, paths in clips.items():
        times = {name: [] for name in methods}
        for _ in range(rounds):
            for name, method in methods.items():
                start = time.perf_counter()
                for path in paths:
                    method(path)
                times[name].append(time.perf_counter() - start)
        reference = decode_video(paths[0], num_frames)
        results[clip_set] = {
            name: {
                "median_s": statistics.median(t),
                "frames_per_s": num_frames * len(paths) / statistics.median(t),
                "same_pixels_as_pyav": bool(np.array_equal(method(paths[0]), reference)),
            }
            for name, (method, t) in ((n, (methods[n], times[n])) for n in methods)
        }
    return results


def bench_feature_cache(paths: list[str], num_frames: int, rounds: int) -> dict:
    from transformers import Blip2VisionConfig, Blip2VisionModel

    torch.manual_seed(0)
    config = Blip2VisionConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=12, num_attention_heads=6, image_size=224, patch_size=16)
    tower = Blip2VisionModel(config).eval().requires_grad_(False)
    mean = torch.tensor([0.481, 0.458, 0.408]).view(1, 3, 1, 1)
    std = torch.tensor([0.269, 0.261, 0.276]).view(1, 3, 1, 1)

    def encode(frames: np.ndarray) -> torch.Tensor:
        frames = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
        with torch.inference_mode():
            return tower(pixel_values=(frames - mean) / std).last_hidden_state

    def epoch(cache: VisionFeatureCache | None) -> float:
        # As in training: the collator decodes every video every epoch; the cache replaces only the tower.
        start = time.perf_counter()
        for path in paths:
            frames = decode_video(path, num_frames, size=224)
            if cache is None:
                encode(frames)
            else:
                cache.get_or_compute([path], lambda rows, f=frames: encode(f).unsqueeze(0))
        return time.perf_counter() - start

    settings = {"num_frames": num_frames, "sampling": "uniform", "size": 224}
    fingerprint = model_fingerprint(tower)
    runs = {"no cache": [], "disk cache": []}
    for _ in range(rounds):
        runs["no cache"].append([epoch(None), epoch(None)])
        with tempfile.TemporaryDirectory() as directory:
            cache = VisionFeatureCache(directory, fingerprint, settings)
            runs["disk cache"].append([epoch(cache), epoch(cache)])
            size = sum(p.stat().st_size for p in Path(directory).rglob("*.safetensors"))
    result = {
        name: {f"epoch_{e + 1}_median_s": statistics.median(r[e] for r in values) for e in range(2)} for name, values in runs.items()
    }
    result["second_epoch_speedup"] = result["no cache"]["epoch_2_median_s"] / result["disk cache"]["epoch_2_median_s"]
    result["cache_bytes_per_video"] = size / len(paths)
    result["parameters"] = sum(p.numel() for p in tower.parameters())
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        clips = {
            "16 frames, 64x64, lossless (shapes world)": make_clips(directory, 32, 16, 64, 64, seed=0, lossless=True),
            "240 frames, 320x240, H.264 CRF 23": make_clips(directory, 16, 240, 240, 320, seed=1, lossless=False),
        }
        decoding = bench_decoding(clips, args.rounds, args.frames)
        cache = bench_feature_cache(clips["240 frames, 320x240, H.264 CRF 23"], args.frames, max(1, args.rounds // 2))
    result = {
        "machine": {"platform": platform.platform(), "cpu_threads": torch.get_num_threads(), "torch": torch.__version__},
        "decoders": available_decoders(),
        "num_frames": args.frames,
        "rounds": args.rounds,
        "decoding": decoding,
        "feature_cache": cache,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "video_data.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# Video data speed",
        "",
        f"{args.frames} uniformly sampled frames per video; medians of {args.rounds} interleaved rounds; "
        f"{result['machine']['cpu_threads']} threads. Decoders installed: {', '.join(result['decoders'])}.",
        "",
        "## Decoding",
        "",
        "| clips | decoder | frames/s | vs PyAV | same pixels as PyAV |",
        "|---|---|---|---|---|",
    ]
    for clip_set, methods in decoding.items():
        base = methods["pyav"]["frames_per_s"]
        for name, values in methods.items():
            lines.append(
                f"| {clip_set} | {name} | {values['frames_per_s']:.0f} | {values['frames_per_s'] / base:.2f}x | {values['same_pixels_as_pyav']} |"
            )
    c = cache
    lines += [
        "",
        "## Vision-feature cache (16 videos x 8 frames, frozen ViT-S-sized tower, "
        f"{c['parameters'] / 1e6:.1f}M parameters)",
        "",
        "| | epoch 1 (s) | epoch 2 (s) |",
        "|---|---|---|",
        f"| no cache | {c['no cache']['epoch_1_median_s']:.2f} | {c['no cache']['epoch_2_median_s']:.2f} |",
        f"| disk cache | {c['disk cache']['epoch_1_median_s']:.2f} | {c['disk cache']['epoch_2_median_s']:.2f} |",
        "",
        f"Second-epoch speed-up: {c['second_epoch_speedup']:.1f}x (decoding included); "
        f"{c['cache_bytes_per_video'] / 1e6:.2f} MB on disk per video.",
    ]
    (RESULTS / "video_data.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""An on-disk cache of frozen vision features, one file per video, next to the dataset.

Frozen vision towers (and frozen Q-Formers) give the same output for the same frames every epoch, so the trainer
can compute them once and read them back. A cache entry is valid only for one (video, model, sampling settings)
triple, so the cache directory is split by a digest of the model's weights and the settings: changing the
checkpoint, the number of frames, the resolution, the normalisation or the sampling starts a new, empty cache,
never a wrong hit. Videos are keyed by their id and file identity (path, size and modification time, or the digest
of in-memory bytes), so a re-encoded video is recomputed too.

Layout: ``<directory>/<digest>/manifest.json`` (the model fingerprint and settings, for humans) and
``<directory>/<digest>/<video key>.safetensors``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch


def _digest(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode())
        hasher.update(b"\0")
    return hasher.hexdigest()


def model_fingerprint(module: torch.nn.Module) -> str:
    """A digest of a module's class, parameter names, shapes, dtypes and values (and buffers)."""
    hasher = hashlib.sha256(type(module).__qualname__.encode())
    for name, tensor in sorted(module.state_dict().items()):
        hasher.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        # reshape(-1): 0-dim buffers (BatchNorm's num_batches_tracked) cannot be viewed as bytes directly
        hasher.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return hasher.hexdigest()


def video_identity(video) -> str:
    """Identifies a video's content: path, size and modification time of a file, or the digest of its bytes."""
    path, data = (video.get("path"), video.get("bytes")) if isinstance(video, dict) else (video, None)
    if data is not None:
        return "bytes:" + hashlib.sha256(data).hexdigest()
    stat = os.stat(path)
    return f"file:{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}"


class VisionFeatureCache:
    """Features by video on disk, valid for one model and one set of sampling settings.

    Args:
        directory (`str` or `os.PathLike`): the cache root, e.g. ``<dataset dir>/.feature_cache``.
        model (`torch.nn.Module` or `str`): the frozen module whose outputs are cached (or its fingerprint).
        settings (`dict`): everything else the features depend on (frames, resolution, normalisation, which
            output); must be JSON-serialisable. Random frame sampling cannot be cached.

    Example:
        >>> import tempfile, torch
        >>> from hf_vidcap.data.feature_cache import VisionFeatureCache
        >>> cache = VisionFeatureCache(tempfile.mkdtemp(), "model-abc", {"num_frames": 8, "sampling": "uniform"})
        >>> compute = lambda rows: torch.ones(len(rows), 2)
        >>> cache.get_or_compute(["v0", "v1"], compute).shape, cache.stats
        (torch.Size([2, 2]), {'hits': 0, 'misses': 2})
        >>> _ = cache.get_or_compute(["v0", "v1"], compute); cache.stats
        {'hits': 2, 'misses': 2}
    """

    def __init__(self, directory: str | os.PathLike, model: torch.nn.Module | str, settings: Mapping):
        settings = dict(settings)
        if settings.get("sampling", "uniform") != "uniform":
            raise ValueError(
                f"sampling {settings['sampling']!r} draws different frames every epoch, so its features cannot be "
                "cached; cache with sampling='uniform' or turn the cache off."
            )
        fingerprint = model if isinstance(model, str) else model_fingerprint(model)
        try:
            encoded = json.dumps(settings, sort_keys=True)
        except TypeError as error:
            raise ValueError(f"settings must be JSON-serialisable ({error}).") from None
        self.digest = _digest(fingerprint, encoded)[:32]
        self.directory = Path(directory) / self.digest
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = self.directory / "manifest.json"
        if not manifest.exists():
            manifest.write_text(json.dumps({"model": fingerprint, "settings": settings}, indent=2, sort_keys=True))
        self.stats = {"hits": 0, "misses": 0}

    def _file(self, key: str) -> Path:
        return self.directory / f"{_digest(str(key))[:40]}.safetensors"

    def get(self, key: str) -> torch.Tensor | None:
        from safetensors.torch import load_file

        path = self._file(key)
        if not path.exists():
            return None
        return load_file(path)["features"]

    def put(self, key: str, features: torch.Tensor) -> None:
        from safetensors.torch import save_file

        path = self._file(key)
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        save_file({"features": features.detach().cpu().contiguous()}, temporary)
        os.replace(temporary, path)  # atomic: readers never see half a file

    def get_or_compute(self, keys: Sequence[str], compute: Callable[[list[int]], torch.Tensor]) -> torch.Tensor:
        """Stacked features of ``keys``; ``compute(rows)`` is called once for the rows missing from the cache and
        must return their features in that order."""
        found = [self.get(key) for key in keys]
        missing = [i for i, features in enumerate(found) if features is None]
        self.stats["hits"] += len(keys) - len(missing)
        self.stats["misses"] += len(missing)
        if missing:
            computed = compute(missing)
            for row, i in enumerate(missing):
                found[i] = computed[row].detach().cpu()
                self.put(keys[i], found[i])
        return torch.stack(found)

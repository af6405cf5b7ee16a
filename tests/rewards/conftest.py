import numpy as np
import pytest
import torch
import torch.nn.functional as F


class LookupEmbedder:
    """Fixed embeddings for exact, hand-computable rewards: texts from a dict, a video from its first pixel's red
    value (an index into ``videos``). Counts how often videos are encoded."""

    def __init__(self, texts: dict, videos: list):
        self.texts = {k: torch.tensor(v, dtype=torch.float32) for k, v in texts.items()}
        self.videos = [torch.tensor(v, dtype=torch.float32) for v in videos]
        self.embedding_dim = len(next(iter(self.texts.values())))
        self.video_calls = 0

    def encode_text(self, texts):
        return F.normalize(torch.stack([self.texts[t] for t in texts]), dim=-1)

    def encode_video(self, frames):
        self.video_calls += 1
        return self.videos[int(frames[0, 0, 0, 0])]


def video(index: int, frames: int = 2) -> np.ndarray:
    array = np.zeros((frames, 4, 4, 3), dtype=np.uint8)
    array[..., 0] = index
    return array


@pytest.fixture
def lookup_embedder():
    return LookupEmbedder


@pytest.fixture
def make_video():
    return video

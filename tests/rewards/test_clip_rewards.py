import math
import pickle

import numpy as np
import pytest
import torch

from hf_vidcap.encoders import CLIPEmbedder
from hf_vidcap.rewards import get_clip_r_reward, get_clip_score_reward
from hf_vidcap.testing import tiny_clip, tiny_clip_embedder, tiny_open_clip


@pytest.fixture
def embedder(lookup_embedder):
    # Unit video (1, 0); captions at cosine 0.6, 0.8 and -0.6 with it.
    texts = {"good": [0.6, 0.8], "better": [0.8, 0.6], "opposite": [-0.6, 0.8], "ref": [0.8, 0.6]}
    return lookup_embedder(texts, videos=[[1.0, 0.0]])


def test_clip_s_and_clip_r_hand_computed(embedder, make_video):
    frames = [make_video(0)] * 3
    clip_s = get_clip_score_reward(embedder)
    # CLIP-S = 2.5 * max(cos, 0): 2.5 * 0.6 = 1.5; 2.5 * 0.8 = 2.0; a negative cosine gives 0.
    assert clip_s(["good", "better", "opposite"], video_frames=frames) == pytest.approx([1.5, 2.0, 0.0])
    # CLIP-R (ReGen eq. 4) = max(cos, 0).
    assert get_clip_r_reward(embedder)(["good", "opposite"], video_frames=frames[:2]) == pytest.approx([0.6, 0.0])


def test_ref_clip_s_is_the_harmonic_mean(embedder, make_video):
    reward = get_clip_score_reward(embedder, use_references=True)
    # CLIP-S("good") = 1.5; cos("good", "ref") = 0.6 * 0.8 + 0.8 * 0.6 = 0.96; H-mean = 2 * 1.5 * 0.96 / 2.46.
    assert reward(["good"], video_frames=[make_video(0)], captions=[["ref"]]) == pytest.approx([2 * 1.5 * 0.96 / 2.46])
    # CLIP-S = 0 makes RefCLIP-S 0.
    assert reward(["opposite"], video_frames=[make_video(0)], captions=[["ref"]]) == [0.0]


def test_each_video_is_encoded_once_per_run(embedder, make_video):
    reward = get_clip_r_reward(embedder)
    frames = make_video(0)
    reward(["good"] * 4, video_frames=[frames] * 4, video_id=["v0"] * 4)
    reward(["better"] * 2, video_frames=[frames] * 2, video_id=["v0"] * 2)  # a later step, same video
    assert embedder.video_calls == 1
    # Without ids, equal frames hash to the same key.
    reward2 = get_clip_r_reward(embedder)
    reward2(["good", "good"], video_frames=[make_video(0), make_video(0)])
    assert embedder.video_calls == 2


def test_precomputed_embedding_column(embedder):
    reward = get_clip_r_reward(embedder, embedding_column="clip_video")
    # (D,) used as is; (T, D) per-frame embeddings are normalised and averaged: mean((1,0), (0,1)) = (0.5, 0.5).
    values = reward(["good", "good"], clip_video=[np.array([1.0, 0.0]), np.array([[2.0, 0.0], [0.0, 3.0]])])
    assert values == pytest.approx([0.6, (0.6 + 0.8) / math.sqrt(2)])
    assert embedder.video_calls == 0


def test_bad_video_input_names_the_sample(embedder, make_video):
    reward = get_clip_r_reward(embedder)
    with pytest.raises(ValueError, match="needs the column 'video_frames'"):
        reward(["good"])
    with pytest.raises(ValueError, match="sample 'v7'.*expected \\(T, H, W, 3\\)"):
        reward(["good"], video_frames=[np.zeros((4, 4, 3), np.uint8)], video_id=["v7"])
    with pytest.raises(TypeError, match="dtype float32"):
        reward(["good"], video_frames=[np.zeros((1, 4, 4, 3), np.float32)], video_id=["v7"])
    with pytest.raises(ValueError, match="2 values for 1 completions"):
        reward(["good"], video_frames=[make_video(0)] * 2)
    with pytest.raises(ValueError, match="weight"):
        get_clip_score_reward(embedder, weight=0)


def test_transformers_backend_encodes_normalised_and_video_is_mean_of_frames():
    embedder = tiny_clip_embedder()
    text = embedder.encode_text(["a red circle", "a blue square moves left"])
    assert text.shape == (2, 16)
    torch.testing.assert_close(text.norm(dim=-1), torch.ones(2))
    frames = np.random.default_rng(0).integers(0, 255, (3, 40, 48, 3), dtype=np.uint8)
    per_frame = embedder.encode_frames(frames)
    torch.testing.assert_close(embedder.encode_video(frames), per_frame.mean(dim=0))
    # The same as the transformers model on the processor's pixels.
    model, tokenizer, processor = tiny_clip()
    with torch.no_grad():
        expected = model.get_image_features(pixel_values=processor(images=list(frames), return_tensors="pt")["pixel_values"]).pooler_output
    torch.testing.assert_close(per_frame, torch.nn.functional.normalize(expected, dim=-1))


def test_transformers_checkpoint_round_trip(tmp_path):
    model, tokenizer, processor = tiny_clip()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded = CLIPEmbedder.from_pretrained(str(tmp_path))
    original = CLIPEmbedder(model, tokenizer, processor)
    torch.testing.assert_close(loaded.encode_text(["a red circle"]), original.encode_text(["a red circle"]))


def test_open_clip_backend_and_local_checkpoint(tmp_path, make_video):
    model, preprocess, tokenizer = tiny_open_clip()
    embedder = CLIPEmbedder(model, tokenizer, preprocess, backend="open_clip")
    frames = np.random.default_rng(1).integers(0, 255, (2, 32, 32, 3), dtype=np.uint8)
    value = get_clip_r_reward(embedder)(["a red circle"], video_frames=[frames])[0]
    assert 0.0 <= value <= 1.0
    checkpoint = tmp_path / "tiny.pt"
    torch.save(model.state_dict(), checkpoint)
    loaded = CLIPEmbedder.from_pretrained("hf-vidcap-tiny-clip", backend="open_clip", pretrained=str(checkpoint))
    torch.testing.assert_close(loaded.encode_text(["a red circle"]), embedder.encode_text(["a red circle"]))
    with pytest.raises(ValueError, match="use one of \\('transformers', 'open_clip'\\)"):
        CLIPEmbedder(model, tokenizer, preprocess, backend="jax")


def test_rewards_pickle(make_video):
    reward = get_clip_score_reward(tiny_clip_embedder())
    frames = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3), dtype=np.uint8)
    expected = reward(["a red circle"], video_frames=[frames])
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == "clip_score"
    assert clone(["a red circle"], video_frames=[frames]) == pytest.approx(expected)

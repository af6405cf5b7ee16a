"""pipeline("video-captioning") and pipeline("zero-shot-video-classification") on tiny checkpoints of every family:
the same captions as the evaluation path, batching, frames in, several captions per video, and clear errors."""

import numpy as np
import pytest
import torch
from transformers import pipeline

import hf_vidcap  # noqa: F401  (registers the tasks)
from hf_vidcap.data import VideoCaptionCollator, decode_video, shapes_vocabulary
from hf_vidcap.evaluation import generate_for_dataset
from hf_vidcap.models import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor, save_tiny_checkpoint


@pytest.fixture(scope="module", params=["video_blip2", "video_git", "ofa", "qwen2_vl"])
def checkpoint(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param)
    if request.param == "qwen2_vl":  # a video VLM: the pipeline configures its video layout from the processor
        save_tiny_checkpoint(request.param, path, num_frames=4, image_size=56)
    else:
        save_tiny_checkpoint(request.param, path, num_frames=4, frame_differences="append" if request.param == "video_blip2" else "none")
    return str(path)


def test_captions_match_the_evaluation_path(checkpoint, shapes_dataset):
    split = shapes_dataset["test"].select(range(3))
    paths = [row["video"]["path"] for row in split]
    captioner = pipeline("video-captioning", model=checkpoint, max_new_tokens=6)  # a construction default
    processor = AutoVideoCaptionProcessor.from_pretrained(checkpoint)
    model = AutoModelForVideoCaptioning.from_pretrained(checkpoint)
    expected, _ = generate_for_dataset(model, processor, split, VideoCaptionCollator(processor, num_frames=4), show_progress=False, max_new_tokens=6)
    one = captioner(paths[0], num_frames=4)
    assert one == [{"generated_text": expected[0]}]
    assert captioner(paths, num_frames=4) == [[{"generated_text": c}] for c in expected]
    assert captioner(paths, num_frames=4, batch_size=2) == [[{"generated_text": c}] for c in expected]  # batched = one by one
    frames = decode_video(paths[0], 4)
    assert captioner(frames) == one and captioner(list(frames)) == one  # decoded frames, as an array or a list
    # A model object with its processor works too.
    assert pipeline("video-captioning", model=model, processor=processor)(paths[0], num_frames=4, max_new_tokens=6) == one


def test_default_frames_and_several_captions_per_video(shapes_dataset, tmp_path):
    paths = [row["video"]["path"] for row in shapes_dataset["test"].select(range(3))]
    save_tiny_checkpoint("video_blip2", tmp_path, num_frames=4, frame_differences="append")
    captioner = pipeline("video-captioning", model=str(tmp_path))
    # The checkpoint's 7 frame slots are 4 frames + 3 differences: 4 frames are sampled by default.
    assert captioner(paths[0], max_new_tokens=6) == captioner(paths[0], num_frames=4, max_new_tokens=6)
    torch.manual_seed(0)
    sampled = captioner(paths, num_return_sequences=2, do_sample=True, batch_size=2, max_new_tokens=6)
    assert [len(per_video) for per_video in sampled] == [2, 2, 2]
    beams = captioner(paths[0], num_beams=3, num_return_sequences=3, max_new_tokens=5)
    assert len(beams) == 3 and all(len(b["generated_text"].split()) <= 5 for b in beams)


def test_bad_inputs_name_the_problem(tmp_path, shapes_dataset):
    model, processor = save_tiny_checkpoint("video_git", tmp_path, num_frames=4)
    captioner = pipeline("video-captioning", model=str(tmp_path))
    with pytest.raises(TypeError, match="a video is a path"):
        captioner(3)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        captioner(np.zeros((4, 8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="unknown argument.*beams"):
        captioner(shapes_dataset["test"][0]["video"]["path"], beams=3)
    fresh = AutoModelForVideoCaptioning.from_pretrained(str(tmp_path))
    fresh.name_or_path = ""
    with pytest.raises(ValueError, match="pass processor="):
        pipeline("video-captioning", model=fresh)


class _BagOfWords:
    """A CLIPEmbedder stand-in: a caption's embedding counts the shapes-vocabulary words in it."""

    vocabulary = {w: i for i, w in enumerate(shapes_vocabulary())}

    def encode_text(self, texts):
        vectors = torch.full((len(texts), len(self.vocabulary)), 1e-3)
        for row, text in enumerate(texts):
            for word in text.split():
                if word in self.vocabulary:
                    vectors[row, self.vocabulary[word]] += 1.0
        return torch.nn.functional.normalize(vectors, dim=-1)


def test_zero_shot_video_classification_by_captioning(shapes_dataset, tmp_path):
    save_tiny_checkpoint("video_git", tmp_path, num_frames=4)
    path = shapes_dataset["test"][0]["video"]["path"]
    classify = pipeline("zero-shot-video-classification", model=str(tmp_path), clip_model=_BagOfWords())
    labels = ["moving left", "growing", "bouncing", "rotating"]
    result = classify(path, candidate_labels=labels)
    caption = pipeline("video-captioning", model=str(tmp_path))(path)[0]["generated_text"]
    assert [r["caption"] for r in result] == [caption] * 4 and sorted(r["label"] for r in result) == sorted(labels)
    # Scores: softmax over labels of cosine / 0.01, computed here by hand.
    embedder = _BagOfWords()
    cosine = (embedder.encode_text([caption]) @ embedder.encode_text(labels).T)[0]
    expected = torch.softmax(cosine / 0.01, dim=0)
    assert {r["label"]: r["score"] for r in result} == pytest.approx(dict(zip(labels, expected.tolist())), abs=1e-5)
    assert [r["score"] for r in result] == sorted((r["score"] for r in result), reverse=True)
    with pytest.raises(ValueError, match="candidate_labels"):
        classify(path)
    with pytest.raises(ValueError, match="clip_model"):
        pipeline("zero-shot-video-classification", model=str(tmp_path))

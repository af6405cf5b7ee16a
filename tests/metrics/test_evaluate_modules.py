"""The `evaluate` modules in metrics/<name>/: Space layout, offline loading, and the same numbers as the reference
implementations (pycocoevalcap) or the library functions they wrap."""

import doctest
import importlib.util
from pathlib import Path

import evaluate
import numpy as np
import pytest
import torch
import yaml
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge
from test_cider import CANDIDATES, REFERENCES

from hf_vidcap.metrics import JavaMetricUnavailableError, meteor, normalize_caption, retrieval_recall, top_k_accuracy

METRICS = Path(__file__).resolve().parents[2] / "metrics"
NAMES = ["bleu", "caption_diversity", "cider_d", "clip_retrieval", "clip_score", "meteor", "rouge_l", "spice", "zero_shot_classification"]


def load(name):
    return evaluate.load(str(METRICS / name))


def test_every_module_folder_has_the_space_layout():
    assert sorted(p.name for p in METRICS.iterdir() if p.is_dir()) == NAMES
    for name in NAMES:
        folder = METRICS / name
        assert {"README.md", "app.py", f"{name}.py", "requirements.txt"} <= {p.name for p in folder.iterdir()}
        front = (folder / "README.md").read_text().split("---\n")[1]
        metadata = yaml.safe_load(front)
        assert metadata["sdk"] == "gradio" and metadata["app_file"] == "app.py"
        assert "evaluate" in metadata["tags"] and "metric" in metadata["tags"] and metadata["title"]
        assert "hf-vidcap" in (folder / "requirements.txt").read_text()


@pytest.mark.parametrize("name", ["cider_d", "bleu", "caption_diversity", "rouge_l"])
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(METRICS.parent)
    spec = importlib.util.spec_from_file_location(name, METRICS / name / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    test = parser.get_doctest(module._KWARGS_DESCRIPTION, {}, name, None, 0)
    assert test.examples
    runner.run(test)
    assert runner.failures == 0


def _coco(candidates, references):
    return {i: list(refs) for i, refs in enumerate(references)}, {i: [c] for i, c in enumerate(candidates)}


def test_caption_metrics_equal_pycocoevalcap():
    candidates = [normalize_caption(c) for c in CANDIDATES]
    references = [[normalize_caption(r) for r in refs] for refs in REFERENCES]
    cider = load("cider_d").compute(predictions=CANDIDATES, references=REFERENCES)
    expected_mean, expected = Cider().compute_score(*_coco(candidates, references))
    assert cider["cider_d"] == pytest.approx(expected_mean, abs=1e-9)
    np.testing.assert_allclose(cider["scores"], expected, atol=1e-9)
    bleu = load("bleu").compute(predictions=CANDIDATES, references=REFERENCES)
    expected_bleu = Bleu(4).compute_score(*_coco(candidates, references), verbose=0)[0]
    assert [bleu[f"bleu_{k}"] for k in range(1, 5)] == pytest.approx(expected_bleu, abs=1e-12)
    keep = [i for i, c in enumerate(candidates) if c]  # pycocoevalcap's Rouge asserts on an empty caption
    rouge = load("rouge_l").compute(predictions=[CANDIDATES[i] for i in keep], references=[REFERENCES[i] for i in keep])
    expected_rouge = Rouge().compute_score(*_coco([candidates[i] for i in keep], [references[i] for i in keep]))[0]
    assert rouge["rouge_l"] == pytest.approx(expected_rouge, abs=1e-12)


def test_cider_d_module_with_fixed_document_frequencies():
    module = load("cider_d")
    corpus = [["a red circle moves left", "a blue square grows"], ["a green cross spins"]] * 3
    fixed = module.compute(predictions=["a red circle"], references=[["a red circle moves left"]], document_frequency_references=corpus)
    alone = module.compute(predictions=["a red circle"], references=[["a red circle moves left"]])
    assert fixed["cider_d"] != alone["cider_d"]  # a one-document corpus gives every n-gram idf 0


def test_meteor_module_matches_the_library_and_spice_module_errors_offline():
    result = load("meteor").compute(predictions=CANDIDATES[:3], references=REFERENCES[:3])
    direct = meteor([normalize_caption(c) for c in CANDIDATES[:3]], [[normalize_caption(r) for r in refs] for refs in REFERENCES[:3]])
    assert result["meteor"] == pytest.approx(direct[0]) and result["scores"] == pytest.approx(direct[1])
    with pytest.raises(JavaMetricUnavailableError, match="Stanford CoreNLP"):
        load("spice").compute(predictions=["a red circle"], references=[["a red circle"]])


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        load("cider_d").compute(predictions=["a", "b"], references=[["a"]])


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    from hf_vidcap.testing import tiny_clip

    model, tokenizer, image_processor = tiny_clip()
    directory = tmp_path_factory.mktemp("tiny_clip")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    image_processor.save_pretrained(directory)
    return str(directory)


def test_clip_modules_equal_the_library_functions(clip_dir):
    from hf_vidcap.encoders import CLIPEmbedder
    from hf_vidcap.rewards import get_clip_score_reward

    embedder = CLIPEmbedder.from_pretrained(clip_dir)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (4, 32, 32, 3), dtype=np.uint8) for _ in range(6)]
    videos = torch.stack([embedder.encode_video(f) for f in frames])
    captions = ["a red circle moves left", "a blue square", "a green cross spins", "a red circle", "a cat", "a dog"]
    references = [["a red circle moves"], ["a blue square grows"], ["a cross"], ["a circle"], ["a cat"], ["a dog runs"]]

    score = load("clip_score").compute(predictions=captions, video_embeddings=videos.tolist(), clip_model=clip_dir, reference_captions=references)
    reward = get_clip_score_reward(embedder, use_references=True)
    expected = reward(captions, video_frames=frames, video_id=list(range(6)), captions=references)
    assert score["ref_clip_scores"] == pytest.approx(expected, abs=1e-5)
    plain = get_clip_score_reward(embedder)(captions, video_frames=frames, video_id=list(range(6)))
    assert score["clip_scores"] == pytest.approx(plain, abs=1e-5)

    retrieval = load("clip_retrieval").compute(predictions=captions, video_embeddings=videos.tolist(), clip_model=clip_dir, ks=[1, 5])
    similarity = embedder.encode_text(captions) @ torch.nn.functional.normalize(videos, dim=-1).T
    assert retrieval == pytest.approx(retrieval_recall(similarity, ks=(1, 5)))
    # Several captions per video: rows sharing a video id are one video.
    grouped = load("clip_retrieval").compute(
        predictions=captions, video_embeddings=videos[[0, 0, 1, 1, 2, 2]].tolist(), clip_model=clip_dir, video_ids=[0, 0, 1, 1, 2, 2]
    )
    similarity = embedder.encode_text(captions) @ torch.nn.functional.normalize(videos[:3], dim=-1).T
    assert grouped == pytest.approx(retrieval_recall(similarity, [0, 0, 1, 1, 2, 2], ks=(1, 5, 10)))

    names = ["circle", "square", "cross"]
    zero_shot = load("zero_shot_classification").compute(
        predictions=captions, references=[0, 1, 2, 0, 1, 2], class_names=names, clip_model=clip_dir, unseen_classes=[2]
    )
    scores = embedder.encode_text(captions) @ embedder.encode_text(names).T
    assert zero_shot["top1_accuracy"] == pytest.approx(top_k_accuracy(scores, [0, 1, 2, 0, 1, 2], ks=(1,))["top1_accuracy"])
    assert set(zero_shot) == {"top1_accuracy", "seen_accuracy", "unseen_accuracy", "harmonic_mean"}  # top-5 > 3 classes
    with pytest.raises(ValueError, match="pass class_names"):
        load("zero_shot_classification").compute(predictions=captions, references=[0] * 6, clip_model=clip_dir)

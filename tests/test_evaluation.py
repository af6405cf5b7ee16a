"""hf_vidcap.evaluate_captioner: one call, every configured metric, the same numbers as the metric functions and
the evaluate modules on the captions it returns."""

import sys
from pathlib import Path

import evaluate
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "trainer"))
from helpers import make_model_and_processor  # noqa: E402

from hf_vidcap import evaluate_captioner  # noqa: E402
from hf_vidcap.metrics import JavaMetricUnavailableError, normalize_caption, retrieval_recall  # noqa: E402
from hf_vidcap.testing import tiny_clip_embedder  # noqa: E402

METRICS = Path(__file__).resolve().parents[1] / "metrics"


def test_one_call_gives_every_configured_metric(tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)
    split = shapes_dataset["test"]
    embedder = tiny_clip_embedder()
    torch.manual_seed(0)
    results, captions = evaluate_captioner(
        model, processor, split,
        metrics=["cider_d", "bleu", "rouge_l", "meteor", "clip_score", "ref_clip_score", "retrieval", "zero_shot", "diversity"],
        clip_model=embedder, unseen_classes=[1, 3], num_diverse_captions=3, max_new_tokens=6, show_progress=False,
    )
    assert len(captions) == len(split)
    expected_keys = {
        "cider_d", "bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "meteor", "clip_score", "ref_clip_score",
        "t2v_recall@1", "t2v_recall@5", "t2v_recall@10", "v2t_recall@1", "v2t_recall@5", "v2t_recall@10",
        "t2v_median_rank", "v2t_median_rank", "top1_accuracy", "top5_accuracy", "seen_accuracy", "unseen_accuracy",
        "harmonic_mean", "div_1", "div_2", "mbleu_4", "self_bleu_4", "vocabulary_size",
    }
    assert set(results) == expected_keys
    references = split["captions"]
    # The same numbers as the evaluate modules on the returned captions.
    cider = evaluate.load(str(METRICS / "cider_d")).compute(predictions=captions, references=references)["cider_d"]
    assert results["cider_d"] == pytest.approx(cider, abs=1e-12)
    rouge = evaluate.load(str(METRICS / "rouge_l")).compute(predictions=captions, references=references)["rouge_l"]
    assert results["rouge_l"] == pytest.approx(rouge, abs=1e-12)
    videos = torch.stack([embedder.encode_video(row) for row in _frames(processor, model, split)])
    clip = evaluate.load(str(METRICS / "clip_score")).compute(predictions=captions, video_embeddings=videos.tolist(), clip_model=embedder)
    assert results["clip_score"] == pytest.approx(clip["clip_score"], abs=1e-5)
    similarity = embedder.encode_text(captions) @ torch.nn.functional.normalize(videos, dim=-1).T
    assert results["t2v_recall@1"] == pytest.approx(retrieval_recall(similarity)["t2v_recall@1"])
    assert results["vocabulary_size"] == len({w for c in captions for w in normalize_caption(c).split()})
    assert 0 <= results["div_1"] <= 1 and 0 <= results["top1_accuracy"] <= 100


def _frames(processor, model, split):
    from hf_vidcap.data.collator import VideoCaptionCollator

    collator = VideoCaptionCollator(processor, num_frames=model.config.num_frames)
    return collator([split[i] for i in range(len(split))])["video_frames"]


def test_bad_configurations_fail_before_decoding(tokenizer, shapes_dataset):
    model, processor = make_model_and_processor(tokenizer)
    split = shapes_dataset["test"]
    with pytest.raises(ValueError, match="unknown metrics \\['cider'\\]"):
        evaluate_captioner(model, processor, split, metrics=["cider"])
    with pytest.raises(ValueError, match="need clip_model"):
        evaluate_captioner(model, processor, split, metrics=["retrieval"])
    with pytest.raises(JavaMetricUnavailableError, match="Stanford CoreNLP"):
        evaluate_captioner(model, processor, split, metrics=["spice"])
    with pytest.raises(ValueError, match="num_diverse_captions"):
        evaluate_captioner(model, processor, split, metrics=["diversity"], num_diverse_captions=1)


class _TableEmbedder:
    """encode_text from a fixed table of (unnormalised) vectors: hand-computable similarities."""

    def __init__(self, table):
        self.table = table

    def encode_text(self, texts):
        import torch

        vectors = torch.tensor([self.table[t] for t in texts], dtype=torch.float32)
        return torch.nn.functional.normalize(vectors, dim=-1)


def test_zero_shot_classification_hand_computed():
    import pytest

    from hf_vidcap.evaluation import zero_shot_classification, zero_shot_metrics

    classes = ["left", "right", "up", "down"]  # one axis each
    table = {c: [float(i == j) for j in range(4)] for i, c in enumerate(classes)}
    table.update({
        "v0": [1, 0, 0, 0],      # label 0: closest to left (right)
        "v1": [0.9, 0.4, 0, 0],  # label 1: closest to left (wrong), right second
        "v2": [0, 0, 1, 0],      # label 2: up (right)
        "v3": [0, 0, 0.8, 0.6],  # label 3: closest to up (wrong), down second
    })
    embedder, captions, labels = _TableEmbedder(table), ["v0", "v1", "v2", "v3"], [0, 1, "up", 3]
    # All classes: top-1 = 2 of 4; top-2 = 4 of 4 (v1's second is right, v3's second is down).
    assert zero_shot_classification(captions, labels, embedder, classes, ks=(1, 2)) == {"top1_accuracy": 50.0, "top2_accuracy": 100.0}
    result = zero_shot_classification(captions, labels, embedder, classes, unseen_draws=[[1, 3], [0, 1]], ks=(1,))
    # Draw [1, 3]: ZSL among {right, down}: v1 -> right, v3 -> down: 100. GZSL over all four: seen videos v0, v2
    # right (100); unseen v1, v3 wrong (0); harmonic mean 0.
    # Draw [0, 1]: ZSL among {left, right}: v0 right, v1 -> left wrong: 50. GZSL: seen v2 right, v3 wrong (50);
    # unseen v0 right, v1 wrong (50); harmonic 50.
    assert result["num_draws"] == 2
    assert result["zsl_top1_accuracy"] == pytest.approx(75.0) and result["zsl_top1_accuracy_std"] == pytest.approx(50 / 2**0.5)
    assert result["gzsl_seen_accuracy"] == pytest.approx(75.0) and result["gzsl_unseen_accuracy"] == pytest.approx(25.0)
    assert result["gzsl_harmonic_mean"] == pytest.approx(25.0) and result["gzsl_harmonic_mean_std"] == pytest.approx(50 / 2**0.5)
    # As the trainer's compute_metrics: labels from the rows' columns.
    metrics = zero_shot_metrics(embedder, classes, unseen_draws=[[1, 3]], ks=(1,))(captions, {"label": labels})
    assert metrics["zsl_top1_accuracy"] == 100.0 and metrics["gzsl_harmonic_mean"] == 0.0 and metrics["zsl_top1_accuracy_std"] == 0.0
    with pytest.raises(ValueError, match="zero-shot evaluation needs the dataset's 'label' column"):
        zero_shot_metrics(embedder, classes)(captions, {"action": labels})
    with pytest.raises(ValueError, match="got 4 captions and 3 labels"):
        zero_shot_classification(captions, labels[:3], embedder, classes)
    with pytest.raises(ValueError, match=r"unseen_draws\[0\] must be a non-empty list of class indices in \[0, 4\)"):
        zero_shot_classification(captions, labels, embedder, classes, unseen_draws=[[7]])
    with pytest.raises(ValueError, match="class name 'sideways' is not one of the 4 classes"):
        zero_shot_classification(captions, [0, 1, 2, "sideways"], embedder, classes)


def test_default_collator_samples_frames_the_checkpoint_can_take(tmp_path, shapes_dataset):
    """A checkpoint whose frame slots count appended differences (the demo's: 8 frames -> 15 images) is evaluated
    with 8 sampled frames by default, not 15 (which would feed it 29 images)."""
    from hf_vidcap import evaluate_captioner
    from hf_vidcap.models import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor, save_tiny_checkpoint

    save_tiny_checkpoint("video_blip2", tmp_path, num_frames=4, frame_differences="append")
    processor = AutoVideoCaptionProcessor.from_pretrained(tmp_path)
    model = AutoModelForVideoCaptioning.from_pretrained(tmp_path)
    assert model.config.num_frames == 7 and processor.num_sampled_frames(7) == 4 and processor.num_model_frames(4) == 7
    metrics, captions = evaluate_captioner(model, processor, shapes_dataset["test"], show_progress=False)
    assert len(captions) == len(shapes_dataset["test"]) and metrics["cider_d"] >= 0


def test_generation_settings_reach_the_decoder(tmp_path, shapes_dataset):
    """``generate_for_dataset`` passes further GenerationConfig fields on: min_new_tokens forbids EOS before it (the
    decoding control of the ReGen benchmark)."""
    import torch

    from hf_vidcap.data import VideoCaptionCollator
    from hf_vidcap.evaluation import generate_for_dataset
    from hf_vidcap.models import save_tiny_checkpoint

    model, processor = save_tiny_checkpoint("video_git", tmp_path, num_frames=4)
    with torch.no_grad():  # a captioner that ends every caption at once
        model.get_output_embeddings().bias[processor.tokenizer.eos_token_id] += 100.0
    collator = VideoCaptionCollator(processor, num_frames=4)
    split = shapes_dataset["test"].select(range(4))
    captions, _ = generate_for_dataset(model, processor, split, collator, show_progress=False, max_new_tokens=8)
    assert captions == [""] * 4
    captions, _ = generate_for_dataset(model, processor, split, collator, show_progress=False, max_new_tokens=8, min_new_tokens=6)
    assert all(len(c.split()) == 6 for c in captions), captions

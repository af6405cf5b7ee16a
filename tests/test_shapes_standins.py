"""The shapes-world stand-ins for CLIP and the masked LM: trained by a seeded command, cached, loadable by the
rewards' own loaders (tiny settings here; the real ones are in the module's defaults)."""

import json

import numpy as np

from hf_vidcap.encoders import CLIPEmbedder
from hf_vidcap.encoders.shapes_standins import STANDIN_FILE, main, train_shapes_clip, train_shapes_mlm
from hf_vidcap.rewards import get_clip_r_reward, get_mlm_grammar_reward


def np_frames():
    return np.zeros((2, 32, 32, 3), dtype=np.uint8)


def test_clip_standin_trains_caches_and_loads(tmp_path):
    settings = dict(world_dir=str(tmp_path / "world"), num_clips=8, steps=2, batch_size=4, num_validation=8)
    record = train_shapes_clip(tmp_path / "clip", **settings)
    assert record["settings"]["world_seed"] == 1000 and record["num_validation_clips"] == 8
    assert 0.0 <= record["zero_shot_action_accuracy"] <= 1.0 and record["final_loss"] > 0
    assert 0.0 <= record["oracle_caption_action_accuracy"] <= 1.0 and record["settings"]["text_pair_weight"] == 1.0
    weights = tmp_path / "clip" / "model.safetensors"
    written = weights.stat().st_mtime_ns
    assert train_shapes_clip(tmp_path / "clip", **settings) == record and weights.stat().st_mtime_ns == written  # cached
    embedder = CLIPEmbedder.from_pretrained(str(tmp_path / "clip"))
    assert embedder.encode_text(["a red circle moves left"]).shape == (1, 64)
    assert get_clip_r_reward(embedder)(["a red circle"], video_frames=[np_frames()])[0] >= 0.0


def test_mlm_standin_command(tmp_path, capsys):
    main(["mlm", str(tmp_path / "mlm"), "--world_dir", str(tmp_path / "world"), "--num_clips", "8", "--steps", "2", "--num_validation", "8"])
    record = json.loads((tmp_path / "mlm" / STANDIN_FILE).read_text())
    assert record["settings"]["kind"] == "mlm" and 0.0 <= record["validation_masked_token_accuracy"] <= 1.0
    assert json.loads(capsys.readouterr().out) == record
    scores = get_mlm_grammar_reward(str(tmp_path / "mlm"))(["a red circle moves left"])
    assert len(scores) == 1 and scores[0] < 0
    assert train_shapes_mlm(tmp_path / "mlm", world_dir=str(tmp_path / "world"), num_clips=8, steps=2, num_validation=8) == record

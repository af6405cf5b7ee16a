import math
import pickle

import pytest
import torch

from hf_vidcap.rewards import VideoBank, get_contrastive_reward, get_discriminator_reward
from hf_vidcap.testing import tiny_clip_embedder

TEXTS = {"c0": [1.0, 0.0], "c1": [0.6, 0.8], "r0": [0.8, 0.6], "r1": [0.0, 1.0], "g0": [0.0, 1.0], "g1": [0.0, 1.0]}


@pytest.fixture
def embedder(lookup_embedder):
    # Video 0 = (1, 0), video 1 = (0, 1), video 2 = (0.6, 0.8) (only in the bank).
    return lookup_embedder(TEXTS, videos=[[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])


def _call(reward, make_video, **extra):
    return reward(
        ["c0", "c1"], video_frames=[make_video(0), make_video(1)], video_id=["v0", "v1"], captions=[["r0"], ["r1"]], **extra
    )


def test_bidirectional_contrastive_reward_hand_computed(embedder, make_video):
    reward = get_contrastive_reward(embedder, temperature=1.0)
    values = _call(reward, make_video)
    # T = {c0, c1, r0, r1}. For c0 and video 0: s = 1; the other captions score 0.6, 0.8, 0 against video 0.
    i2t_c0 = 1 - math.log(math.exp(0.6) + math.exp(0.8) + math.exp(0.0))
    # I = {video 0, video 1}: c0 scores 0 against video 1.
    t2i_c0 = 1 - math.log(math.exp(0.0))
    # For c1 and video 1: s = 0.8; the others score 0 (c0), 0.6 (r0), 1 (r1); c1 against video 0: 0.6.
    i2t_c1 = 0.8 - math.log(math.exp(0.0) + math.exp(0.6) + math.exp(1.0))
    t2i_c1 = 0.8 - math.log(math.exp(0.6))
    assert values == pytest.approx([i2t_c0 + t2i_c0, i2t_c1 + t2i_c1])
    # Unidirectional (WTF-RL's "RL - Unidirectional"): r_i2t only.
    assert _call(get_contrastive_reward(embedder, temperature=1.0, bidirectional=False), make_video) == pytest.approx([i2t_c0, i2t_c1])


def test_greedy_captions_join_the_pool_and_mined_videos_the_images(embedder, make_video):
    # A greedy caption per video enters T; against video 0 the other captions score 0.6 (c1), 0 (g0), 0 (g1),
    # 0.8 (r0) and 0 (r1).
    values = _call(get_contrastive_reward(embedder, temperature=1.0, bidirectional=False), make_video, greedy_completions=["g0", "g1"])
    assert values[0] == pytest.approx(1 - math.log(math.exp(0.6) + math.exp(0.8) + 3 * math.exp(0.0)))
    # Mining: the bank's most similar video to video 0 or 1 that is not in the batch is video 2 (0.6, 0.8).
    bank = VideoBank(["v0", "v1", "v2"], torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]))
    assert bank.most_similar(["v0"], 1) == [2]
    mined = get_contrastive_reward(embedder, temperature=1.0, video_bank=bank, num_mined=1)
    values = _call(mined, make_video)
    # c0 against video 2: 0.6, so r_t2i(c0) = 1 - log(e^0 + e^0.6).
    i2t_c0 = 1 - math.log(math.exp(0.6) + math.exp(0.8) + math.exp(0.0))
    assert values[0] == pytest.approx(i2t_c0 + 1 - math.log(math.exp(0.0) + math.exp(0.6)))


def test_contrastive_errors(embedder, make_video):
    reward = get_contrastive_reward(embedder)
    with pytest.raises(ValueError, match="at least one other video"):
        reward(["c0"], video_frames=[make_video(0)], video_id=["v0"], captions=[["r0"]])
    with pytest.raises(ValueError, match="needs the column 'captions'"):
        reward(["c0", "c1"], video_frames=[make_video(0), make_video(1)], video_id=["v0", "v1"])
    with pytest.raises(ValueError, match="needs a video_bank"):
        get_contrastive_reward(embedder, num_mined=2)
    with pytest.raises(ValueError, match="duplicates"):
        VideoBank(["a", "a"], torch.zeros(2, 2))


def test_discriminator_reward_pretrains_updates_and_pickles():
    reward = get_discriminator_reward(tiny_clip_embedder(), hidden_size=32, learning_rate=1e-2)
    human = ["a red circle moves left", "a blue square grows bigger", "a green cross spins around"]
    generated = ["a a a red", "circle circle circle", "a blue blue blue"]
    before = [p.detach().clone() for p in reward.discriminator.parameters()]
    history = reward.pretrain(human, generated, epochs=40, batch_size=6)
    assert history[-1]["accuracy"] == 1.0 and history[-1]["loss"] < history[0]["loss"]
    assert all(not torch.equal(a, b) for a, b in zip(before, reward.discriminator.parameters()))
    scores = reward(human + generated)
    assert min(scores[:3]) > 0.5 > max(scores[3:])
    assert reward.online_update
    stats = reward.update(human=human, generated=generated)
    assert set(stats) == {"loss", "accuracy"}
    clone = pickle.loads(pickle.dumps(reward))
    assert clone(human) == pytest.approx(reward(human), abs=1e-6)
    with pytest.raises(ValueError, match="both human and generated"):
        reward.update(human=human, generated=[])


def test_video_bank_from_a_dataset_decodes_every_video_and_names_a_bad_row(shapes_dataset):
    embedder = tiny_clip_embedder()
    split = shapes_dataset["validation"].select(range(4))
    bank = VideoBank.from_dataset(embedder, split, num_frames=2, show_progress=False)
    assert bank.video_ids == split["video_id"] and bank.embeddings.shape == (4, embedder.embedding_dim)
    # The same embeddings as encoding the decoded frames by hand.
    from hf_vidcap.data import decode_video

    by_hand = embedder.encode_video(decode_video(split[2]["video"], 2))
    torch.testing.assert_close(bank.embeddings[2], torch.nn.functional.normalize(by_hand, dim=-1))
    with pytest.raises(ValueError, match=r"row 0 has no \['clip'\] column"):
        VideoBank.from_dataset(embedder, split, num_frames=2, video_column="clip", show_progress=False)


def test_registered_wtf_rewards_need_a_clip_and_mining_needs_the_training_split():
    from hf_vidcap.rewards import build_rewards

    with pytest.raises(ValueError, match="reward 'contrastive' needs clip_model"):
        build_rewards(["contrastive"], {"contrastive": {}})
    with pytest.raises(ValueError, match="reward 'discriminator' needs clip_model"):
        build_rewards(["discriminator"])


def test_distinct_twin_pairs_counts_pairs_once_and_rejects_bad_input():
    from hf_vidcap.metrics import distinct_twin_pairs

    captions = ["a red circle", "a red circle", "a big square", "a small square", "a cross"]
    ids = ["a", "a_twin", "b", "b_twin", "c"]
    pairs = ["a_twin", "a", "b_twin", "b", ""]
    assert distinct_twin_pairs(captions, ids, pairs) == 50.0  # pair a: same caption; pair b: different
    with pytest.raises(ValueError, match="must have the same length"):
        distinct_twin_pairs(captions[:2], ids, pairs)
    with pytest.raises(ValueError, match="no near-duplicate pair"):
        distinct_twin_pairs(captions, ids, [""] * 5)

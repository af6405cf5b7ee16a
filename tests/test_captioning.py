"""The greedy captions and the K samples decoded in one pass (the trainer's rollout when a baseline needs the greedy
caption): the greedy rows equal greedy search, the sample rows are grouped by video, and the pass is only taken
when both configurations agree on everything greedy search uses."""

import pytest
import torch

from hf_vidcap.captioning import (
    GreedyRowsLogitsProcessor,
    can_merge_greedy_and_samples,
    generate_captions,
    generate_greedy_and_samples,
    make_generation_config,
)
from hf_vidcap.data import decode_video
from hf_vidcap.models import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor, save_tiny_checkpoint
from hf_vidcap.models.captioner import configure_captioner


def test_greedy_rows_keep_only_their_best_token():
    scores = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 1.0], [0.5, 0.2, 0.9]])
    out = GreedyRowsLogitsProcessor(2)(torch.zeros(3, 1, dtype=torch.long), scores.clone())
    inf = float("-inf")
    # rows 0 and 1: the best logit stays, every other becomes -inf; row 2 (a sample row) is untouched
    assert torch.equal(out, torch.tensor([[inf, 2.0, inf], [3.0, inf, inf], [0.5, 0.2, 0.9]]))
    # softmax of a greedy row puts probability 1 on its best token, so sampling draws it
    assert torch.equal(torch.softmax(out[:2], -1), torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))


@pytest.fixture(scope="module", params=["video_blip2", "video_git", "ofa", "qwen2_vl"])
def captioner(request, tmp_path_factory, shapes_dataset):
    path = tmp_path_factory.mktemp(request.param)
    if request.param == "qwen2_vl":
        save_tiny_checkpoint(request.param, path, num_frames=4, image_size=56)
    else:
        save_tiny_checkpoint(request.param, path, num_frames=4)
    model = AutoModelForVideoCaptioning.from_pretrained(path).eval()
    processor = AutoVideoCaptionProcessor.from_pretrained(path)
    configure_captioner(model, processor)
    frames = [decode_video(row["video"], 4) for row in shapes_dataset["test"].select(range(3))]
    with torch.no_grad():
        embeds = model.get_video_embeds(processor(videos=frames)["pixel_values"])
    return model, processor, embeds


def test_one_pass_greedy_equals_greedy_search_and_samples_are_grouped_by_video(captioner):
    model, processor, embeds = captioner
    greedy_config = make_generation_config(processor, 8)
    expected, expected_mask = generate_captions(model, processor, embeds, greedy_config)
    sample_config = make_generation_config(processor, 8, do_sample=True, num_return_sequences=4)
    assert can_merge_greedy_and_samples(greedy_config, sample_config)
    torch.manual_seed(0)
    (greedy, greedy_mask), (ids, mask) = generate_greedy_and_samples(model, processor, embeds, sample_config)
    assert torch.equal(greedy, expected) and torch.equal(greedy_mask, expected_mask)
    assert ids.shape[0] == 3 * 4 and mask.shape == ids.shape
    # At a temperature near 0 every sample is its video's greedy caption: rows b*K .. b*K+K-1 belong to video b.
    cold = make_generation_config(processor, 8, do_sample=True, num_return_sequences=4, temperature=1e-4)
    _, (cold_ids, cold_mask) = generate_greedy_and_samples(model, processor, embeds, cold)
    width = min(cold_ids.shape[1], expected.shape[1])
    assert torch.equal(cold_ids[:, :width] * cold_mask[:, :width], (expected * expected_mask).repeat_interleave(4, 0)[:, :width])


def test_one_pass_only_when_greedy_search_would_compute_the_same(captioner):
    _, processor, _ = captioner
    greedy = make_generation_config(processor, 8)
    sample = make_generation_config(processor, 8, do_sample=True, num_return_sequences=4, temperature=0.7, top_p=0.9)
    assert can_merge_greedy_and_samples(greedy, sample)  # sampling-only settings do not matter
    assert not can_merge_greedy_and_samples(greedy, make_generation_config(processor, 9, do_sample=True))  # length
    assert not can_merge_greedy_and_samples(greedy, make_generation_config(processor, 8, do_sample=True, repetition_penalty=1.2))
    assert not can_merge_greedy_and_samples(greedy, make_generation_config(processor, 8, num_beams=3, num_return_sequences=3))
    assert not can_merge_greedy_and_samples(make_generation_config(processor, 8, min_new_tokens=2), sample)

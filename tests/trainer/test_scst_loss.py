import torch

from hf_vidcap import VideoBlip2Processor
from hf_vidcap.captioning import caption_token_logprobs, trim_at_eos
from hf_vidcap.models import create_tiny_video_blip2
from hf_vidcap.trainer import scst_loss


def test_scst_loss_matches_hand_computation():
    logprobs = torch.tensor([-1.0, -2.0, -0.5, -3.0], requires_grad=True)
    rewards = torch.tensor([1.0, 0.5, 2.0, 0.0])
    baselines = torch.tensor([0.8, 0.8, 1.0, 1.0])  # two videos' greedy rewards, repeated K=2 times
    loss = scst_loss(logprobs, rewards, baselines)
    # advantages = [0.2, -0.3, 1.0, -1.0]; -(1/4) * (0.2*-1 + -0.3*-2 + 1.0*-0.5 + -1.0*-3) = -(2.9/4)
    torch.testing.assert_close(loss, torch.tensor(-0.725))
    loss.backward()
    # d loss / d logprob_i = -advantage_i / 4
    torch.testing.assert_close(logprobs.grad, torch.tensor([-0.05, 0.075, -0.25, 0.25]))


def test_scst_loss_is_zero_when_samples_match_the_baseline():
    logprobs = torch.tensor([-1.0, -5.0], requires_grad=True)
    loss = scst_loss(logprobs, torch.tensor([0.7, 0.7]), torch.tensor([0.7, 0.7]))
    assert loss.item() == 0.0


def test_trim_at_eos():
    ids = torch.tensor([[5, 3, 7, 3], [5, 6, 7, 8], [3, 9, 9, 9]])
    trimmed, mask = trim_at_eos(ids, eos_token_id=3, pad_token_id=0)
    torch.testing.assert_close(trimmed, torch.tensor([[5, 3, 0, 0], [5, 6, 7, 8], [3, 0, 0, 0]]))
    torch.testing.assert_close(mask, torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]))


def test_caption_token_logprobs_match_a_manual_forward(tokenizer):
    torch.manual_seed(0)
    model = create_tiny_video_blip2(tokenizer, image_size=32, patch_size=8, hidden_size=32, num_query_tokens=4, num_frames=2).eval()
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)
    pixel_values = torch.randn(1, 2, 3, 32, 32)
    ids, mask = processor.pad_captions(processor.caption_ids(["a red circle", "a blue square grows"]))
    got = caption_token_logprobs(model, processor, ids, mask, pixel_values=pixel_values, captions_per_video=2, temperature=2.0)
    prefix = processor.prefix_ids()  # 4 image tokens + bos: the first caption token is predicted at position 4
    for row in range(2):
        full = torch.tensor([prefix + ids[row].tolist()])
        logits = model(pixel_values=pixel_values, input_ids=full).logits[0] / 2.0
        for j in range(ids.shape[1]):
            expected = torch.log_softmax(logits[len(prefix) - 1 + j], -1)[ids[row, j]] if mask[row, j] else torch.tensor(0.0)
            torch.testing.assert_close(got[row, j], expected, atol=1e-5, rtol=0)


def test_caption_token_logprobs_encoder_decoder(tokenizer):
    from hf_vidcap import VideoBlip2Config, VideoBlip2ForConditionalGeneration
    from hf_vidcap.models import get_tiny_video_blip2_config

    config = get_tiny_video_blip2_config(tokenizer, image_size=32, patch_size=8, hidden_size=32, num_query_tokens=4, num_frames=2)
    t5 = {
        "model_type": "t5", "vocab_size": len(tokenizer), "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 1,
        "num_heads": 4, "dropout_rate": 0.0, "decoder_start_token_id": tokenizer.pad_token_id,
        "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
    }
    torch.manual_seed(0)
    model = VideoBlip2ForConditionalGeneration(VideoBlip2Config(**{**config.to_dict(), "text_config": t5})).eval()
    processor = VideoBlip2Processor(tokenizer, num_query_tokens=4, image_size=32)
    pixel_values = torch.randn(1, 2, 3, 32, 32)
    ids, mask = processor.pad_captions(processor.caption_ids(["a red circle"]))
    got = caption_token_logprobs(model, processor, ids, mask, pixel_values=pixel_values)
    # The prefix goes to the encoder; the decoder reads [start] + caption[:-1] and predicts the caption.
    decoder_input = torch.cat([torch.tensor([[tokenizer.pad_token_id]]), ids[:, :-1]], dim=1)
    logits = model(pixel_values=pixel_values, input_ids=torch.tensor([processor.prefix_ids()]), decoder_input_ids=decoder_input).logits
    expected = torch.log_softmax(logits, -1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)

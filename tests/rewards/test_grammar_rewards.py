import math
import random

import pytest
import torch
from torch import nn

from hf_vidcap.rewards import (
    PERTURBATIONS,
    GrammarDiscriminator,
    get_grammar_discriminator_reward,
    get_mlm_grammar_reward,
    perturb_caption,
    train_grammar_discriminator,
)
from hf_vidcap.rewards.grammar_rewards import _masked_lm_scores_one_by_one
from hf_vidcap.testing import build_word_tokenizer, tiny_clip, tiny_masked_lm

CAPTIONS = ["a red circle moves left", "the blue square grows bigger", "a a a", "", "green"]


@pytest.mark.parametrize("chunk_size", [1, 3, 256])
def test_batched_pseudo_likelihood_equals_one_forward_per_token(chunk_size):
    model, tokenizer = tiny_masked_lm()
    reward = get_mlm_grammar_reward(model, tokenizer, chunk_size=chunk_size)
    expected = _masked_lm_scores_one_by_one(model, tokenizer, CAPTIONS)
    assert reward(CAPTIONS) == pytest.approx(expected, abs=1e-5)


class _UniformMaskedLM(nn.Module):
    """Logits all zero: every token has probability 1 / V."""

    def __init__(self, vocab_size):
        super().__init__()
        self.config = type("Config", (), {"vocab_size": vocab_size})()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        return type("Output", (), {"logits": torch.zeros(*input_ids.shape, self.config.vocab_size)})()


def test_pseudo_likelihood_hand_computed():
    tokenizer = build_word_tokenizer()
    reward = get_mlm_grammar_reward(_UniformMaskedLM(len(tokenizer)), tokenizer)
    # Each masked token has log-probability log(1 / V); the mean over tokens is log(1 / V); an empty caption
    # scores a uniform guess too.
    assert reward(["a red circle", "", "left"]) == pytest.approx([-math.log(len(tokenizer))] * 3)


def test_mlm_reward_errors():
    model, _ = tiny_masked_lm()
    with pytest.raises(ValueError, match="no mask token"):
        get_mlm_grammar_reward(model, build_word_tokenizer().__class__(tokenizer_object=build_word_tokenizer()._tokenizer))
    with pytest.raises(ValueError, match="chunk_size"):
        get_mlm_grammar_reward(model, build_word_tokenizer(), chunk_size=0)


@pytest.mark.parametrize("kind", PERTURBATIONS)
def test_perturbations_change_the_caption(kind):
    rng = random.Random(0)
    caption = "a red circle moves to the left"
    for _ in range(20):
        perturbed = perturb_caption(caption, kind, rng)
        assert perturbed != caption
        words, new = caption.split(), perturbed.split()
        if kind in ("swap", "shuffle"):
            assert sorted(new) == sorted(words)  # same words, another order
        elif kind in ("repeat", "insert"):
            assert len(new) > len(words)
        else:
            assert len(new) < len(words)
    with pytest.raises(ValueError, match="unknown perturbation 'flip'; use one of"):
        perturb_caption(caption, "flip", rng)


def test_grammar_discriminator_initialised_from_clip_and_trained():
    model, tokenizer, _ = tiny_clip()
    discriminator = GrammarDiscriminator(model, tokenizer)
    # Initialised from the CLIP text encoder (a copy: training it leaves CLIP alone).
    torch.testing.assert_close(
        discriminator.text_model.embeddings.token_embedding.weight, model.text_model.embeddings.token_embedding.weight
    )
    captions = [f"a {c} {s} {a}" for c in ("red", "blue", "green") for s in ("circle", "square") for a in ("moves left", "grows bigger", "spins")]
    history = train_grammar_discriminator(discriminator, captions, epochs=8, learning_rate=1e-3, batch_size=16)
    assert history[-1]["loss"] < history[0]["loss"]
    assert not torch.equal(discriminator.text_model.embeddings.token_embedding.weight, model.text_model.embeddings.token_embedding.weight)
    reward = get_grammar_discriminator_reward(discriminator)
    values = reward(["a red circle moves left", "left left a moves"])
    assert all(0.0 < v < 1.0 for v in values)
    with pytest.raises(ValueError, match="captions is empty"):
        train_grammar_discriminator(discriminator, [])


def test_grammar_discriminator_from_a_clip_checkpoint(tmp_path):
    model, tokenizer, _ = tiny_clip()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    discriminator = GrammarDiscriminator.from_pretrained(str(tmp_path))
    torch.testing.assert_close(
        discriminator.text_model.encoder.layers[0].self_attn.q_proj.weight, model.text_model.encoder.layers[0].self_attn.q_proj.weight
    )


def test_unknown_words_are_scored_special_tokens_are_not():
    from hf_vidcap.rewards.grammar_rewards import _caption_token_ids

    tokenizer = build_word_tokenizer()
    # "<s> a zzz circle </s>": positions 1-3 are the caption's own tokens, the unknown word included.
    ids, positions = _caption_token_ids(tokenizer, ["a zzz circle"], None)[0]
    assert positions == [1, 2, 3] and ids[2] == tokenizer.unk_token_id

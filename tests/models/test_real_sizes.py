"""Every listed checkpoint's architecture instantiates on the meta device with its published parameter count."""

import pytest
import torch

from hf_vidcap.models import (
    PUBLISHED_PARAMETERS,
    SIGNIFICANT_DIGITS,
    OFAForConditionalGeneration,
    VideoBlip2ForConditionalGeneration,
    VideoGitForCausalLM,
    checkpoint_config,
    stored_parameter_count,
)


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMETERS))
def test_real_size_configs_match_published_sizes(name):
    config = checkpoint_config(name)
    model_class = {"microsoft": VideoGitForCausalLM, "Salesforce": VideoBlip2ForConditionalGeneration, "OFA-Sys": OFAForConditionalGeneration}[name.split("/")[0]]
    with torch.device("meta"):
        model = model_class(config)
    assert all(p.is_meta for p in model.parameters())
    count = stored_parameter_count(model)
    # Equal at the published precision (3 significant digits on the Hub, 2 in OFA's table).
    digits = SIGNIFICANT_DIGITS[name]
    assert f"{count:.{digits}g}" == f"{PUBLISHED_PARAMETERS[name]:.{digits}g}", f"{name}: {count:,}"


def test_video_settings_pass_through_and_unknown_names_fail():
    config = checkpoint_config("Salesforce/blip2-opt-2.7b", num_frames=16, frame_fusion="per_frame_queries")
    assert (config.num_frames, config.frame_fusion, config.num_query_tokens) == (16, "per_frame_queries", 32)
    assert checkpoint_config("microsoft/git-base-vatex").num_image_with_embedding == 6
    assert checkpoint_config("microsoft/git-base", num_image_with_embedding=8, frame_fusion="mean").frame_fusion == "mean"
    with pytest.raises(ValueError, match="unknown checkpoint 'Salesforce/blip2-opt-13b'"):
        checkpoint_config("Salesforce/blip2-opt-13b")

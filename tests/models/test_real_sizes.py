"""Every listed checkpoint's architecture instantiates on the meta device with its published parameter count."""

import pytest
import torch

from hf_vidcap.models import PUBLISHED_PARAMETERS, VideoBlip2ForConditionalGeneration, VideoGitForCausalLM, checkpoint_config, stored_parameter_count


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMETERS))
def test_real_size_configs_match_published_sizes(name):
    config = checkpoint_config(name)
    model_class = VideoGitForCausalLM if name.startswith("microsoft/git") else VideoBlip2ForConditionalGeneration
    with torch.device("meta"):
        model = model_class(config)
    assert all(p.is_meta for p in model.parameters())
    count = stored_parameter_count(model)
    # The Hub shows three significant digits.
    assert abs(count - PUBLISHED_PARAMETERS[name]) / PUBLISHED_PARAMETERS[name] < 0.005, f"{name}: {count:,}"


def test_video_settings_pass_through_and_unknown_names_fail():
    config = checkpoint_config("Salesforce/blip2-opt-2.7b", num_frames=16, frame_fusion="per_frame_queries")
    assert (config.num_frames, config.frame_fusion, config.num_query_tokens) == (16, "per_frame_queries", 32)
    assert checkpoint_config("microsoft/git-base-vatex").num_image_with_embedding == 6
    assert checkpoint_config("microsoft/git-base", num_image_with_embedding=8, frame_fusion="mean").frame_fusion == "mean"
    with pytest.raises(ValueError, match="unknown checkpoint 'Salesforce/blip2-opt-13b'"):
        checkpoint_config("Salesforce/blip2-opt-13b")

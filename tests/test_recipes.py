from pathlib import Path

import pytest
from trl import ModelConfig, TrlParser

from hf_vidcap.scripts import VideoScriptArguments
from hf_vidcap.trainer import VideoSCSTConfig

# GPU configs ask for bf16, which TrainingArguments refuses on a machine without a GPU unless use_cpu is set.
CPU = ["--use_cpu", "true"]
CONFIGS = sorted((Path(__file__).parents[1] / "recipes" / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_recipe_config_parses(path):
    parser = TrlParser((VideoScriptArguments, VideoSCSTConfig, ModelConfig))
    script_args, training_args, model_args = parser.parse_args_and_config(["--config", str(path), *CPU])
    assert training_args.remove_unused_columns is False
    assert script_args.dataset_name
    assert script_args.tiny_model or model_args.model_name_or_path


def test_paper_config_has_the_paper_settings():
    parser = TrlParser((VideoScriptArguments, VideoSCSTConfig, ModelConfig))
    path = Path(__file__).parents[1] / "recipes" / "configs" / "blip2" / "msrvtt_scst.yaml"
    script_args, training_args, model_args = parser.parse_args_and_config(["--config", str(path), *CPU])
    assert model_args.model_name_or_path == "Salesforce/blip2-flan-t5-xl"
    assert training_args.num_frames == 16 and script_args.prompt == "a video of"
    assert (model_args.lora_r, model_args.lora_alpha, model_args.lora_target_modules) == (8, 16, ["q", "v"])

"""benchmarks/gpu_scst.py cannot rot: it runs end to end on CPU with the tiny model, and builds every real-size
model (on the meta device) with the tokenizer padded to its vocabulary."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[1]
_spec = importlib.util.spec_from_file_location("gpu_scst", ROOT / "benchmarks" / "gpu_scst.py")
gpu = importlib.util.module_from_spec(_spec)
sys.modules["gpu_scst"] = gpu
_spec.loader.exec_module(gpu)


def test_the_script_runs_on_cpu_with_the_tiny_model(tmp_path):
    results = gpu.main([
        "--models", "tiny", "--device", "cpu", "--dtype", "float32", "--batch", "2", "--frames", "2", "--length", "6",
        "--steps", "2", "--warmup", "1", "--output", str(tmp_path / "out"),
    ])
    (result,) = results
    assert result["fits"] and result["steps_measured"] == 2 and result["captions_per_s"] > 0 and 0 < result["mfu"] < 1
    assert set(result["split_s"]) == set(gpu.PHASES)
    assert json.loads((tmp_path / "out.json").read_text())["results"][0]["model"] == "tiny"
    assert "| tiny |" in (tmp_path / "out.md").read_text()


def test_the_script_runs_on_cpu_with_the_tiny_video_vlm(tmp_path):
    (result,) = gpu.main([
        "--models", "tiny-vlm", "--device", "cpu", "--dtype", "float32", "--batch", "2", "--frames", "2", "--length", "6",
        "--steps", "2", "--warmup", "1", "--output", str(tmp_path / "vlm"),
    ])
    assert result["fits"] and result["steps_measured"] == 2 and 0 < result["mfu"] < 1


def test_the_video_vlm_builds_at_its_published_size():
    model, processor = gpu.build("qwen2.5-vl-7b", frames=16, dtype=torch.bfloat16, device="meta")
    assert len(processor.tokenizer) == model.config.text_config.vocab_size == 152064
    parameters = sum(p.numel() for p in model.parameters())
    assert 8.0e9 < parameters < 8.5e9  # Qwen2.5-VL-7B-Instruct: 8.29B with its untied output layer
    # 16 frames of 224 px: 8 temporal patches x 8 x 8 merged tokens
    assert processor.prefix_ids().count(processor.image_token_id) == 512
    assert gpu.vlm_flops_per_step(model, processor, batch=8, k=5, frames=16, length=30) > 1e14


@pytest.mark.parametrize("name", [m for m in gpu.MODELS if not m.startswith("tiny") and m not in gpu.VLMS])
def test_real_size_models_build_with_their_vocabulary(name):
    model, processor = gpu.build(name, frames=16, dtype=torch.bfloat16, device="meta")
    assert len(processor.tokenizer) == model.config.text_config.vocab_size
    assert processor.tokenizer.convert_tokens_to_ids("<image>") == model.config.image_token_index
    assert processor.image_size == 224 and model.config.num_frames == 16
    assert gpu.flops_per_step(model, batch=8, k=5, frames=16, length=30) > 1e13

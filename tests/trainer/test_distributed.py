"""Two CPU processes over gloo (DDP, DeepSpeed ZeRO-2 and ZeRO-3) against one process on the same global batch.

Each configuration runs tests/trainer/distributed_run.py in fresh processes (about 10-20 s each; DeepSpeed
builds its communication op once per machine, about 30 s more the first time).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

RUNNER = Path(__file__).with_name("distributed_run.py")
ACCELERATE = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no"]


def _run(command, out):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    (out / "log.txt").write_text(result.stdout + result.stderr)
    return json.loads((out / "result.json").read_text()), torch.load(out / "params.pt")


@pytest.fixture(scope="module")
def single(shapes_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    return _run(
        [sys.executable, str(RUNNER), "--data", str(shapes_dir), "--out", str(out), "--per_device_batch", "4", "--trainable_vision", "--evaluate_first"],
        out,
    )


@pytest.fixture(scope="module")
def initial(tokenizer):
    from helpers import make_model_and_processor

    model, _ = make_model_and_processor(tokenizer)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


CONFIGS = Path(__file__).parents[2] / "recipes" / "accelerate_configs"


@pytest.mark.parametrize(
    "config, zero",
    [
        ("multi_gpu.yaml", []),
        ("deepspeed_zero2.yaml", ["--zero_stage", "2", "--from_launcher"]),
        ("deepspeed_zero3.yaml", ["--zero_stage", "3", "--from_launcher"]),
    ],
    ids=["ddp", "zero2", "zero3"],
)
def test_two_processes_match_one_process(shapes_dir, tmp_path, single, initial, config, zero):
    """The shipped launch configs, with only the device settings overridden (2 processes, no mixed precision; no
    GPU here, so DDP runs over gloo as MULTI_CPU)."""
    result, params = _run(
        [*ACCELERATE, "--config_file", str(CONFIGS / config), str(RUNNER), "--data", str(shapes_dir), "--out", str(tmp_path),
         "--per_device_batch", "2", "--trainable_vision", "--evaluate_first", *zero],
        tmp_path,
    )
    expected_result, expected = single
    assert result["num_processes"] == 2 and expected_result["num_processes"] == 1
    assert result["distributed_type"].endswith("DEEPSPEED" if zero else "MULTI_CPU")
    assert result["losses"] == pytest.approx(expected_result["losses"], rel=1e-5)
    # Evaluation split over the two processes (uneven shards, gathered) scores exactly as one process does.
    assert result["eval"] == expected_result["eval"] and set(result["eval"]) >= {"eval_cider_d", "eval_bleu_4"}
    assert expected_result["eval_rows"] == [5] and result["eval_rows"] == [3, 2]
    assert sorted(params) == sorted(expected)
    for name, value in expected.items():
        moved = (value - initial[name]).abs().max()
        # Every parameter group (the vision tower included: its gradient flows through the once-per-step
        # encoding) matches the single process far below how far it moved.
        assert (params[name] - value).abs().max() <= 1e-6 + 1e-2 * moved, name
    vision_moved = max((expected[n] - initial[n]).abs().max() for n in expected if n.startswith("vision_model."))
    assert vision_moved > 1e-6


def test_a_video_vlm_under_zero3_matches_one_process(shapes_dir, tmp_path):
    """A tiny Qwen2-VL (hf_vidcap.models.vlm) with its vision tower trained: ZeRO-3 over two processes gathers the
    sharded weights for beam-search generation and gives the single process's losses and weights."""
    common = ["--data", str(shapes_dir), "--trainable_vision", "--model", "qwen2_vl"]
    one, one_params = _run([sys.executable, str(RUNNER), *common, "--out", str(tmp_path / "one"), "--per_device_batch", "4"], (tmp_path / "one").mkdir() or tmp_path / "one")
    two, two_params = _run(
        [*ACCELERATE, "--config_file", str(CONFIGS / "deepspeed_zero3.yaml"), str(RUNNER), *common, "--out", str(tmp_path / "two"),
         "--per_device_batch", "2", "--zero_stage", "3", "--from_launcher"],
        (tmp_path / "two").mkdir() or tmp_path / "two",
    )
    assert two["distributed_type"].endswith("DEEPSPEED") and two["num_processes"] == 2
    assert two["losses"] == pytest.approx(one["losses"], abs=1e-6)  # losses ~1e-2: float32 reduction order only
    assert sorted(two_params) == sorted(one_params)
    for name, value in one_params.items():
        assert torch.allclose(two_params[name], value, atol=1e-5), name


def test_a_run_killed_while_saving_resumes_to_the_uninterrupted_weights(shapes_dir, tmp_path):
    # Fault injection: rank 1 of a 2-process DDP run is SIGKILLed halfway through writing checkpoint-4. Resuming with
    # resume_from_checkpoint=True must skip that checkpoint (named in a warning), restart from checkpoint-2 and end
    # on the weights of a run that was never interrupted.
    common = [*ACCELERATE, "--multi_gpu", str(RUNNER), "--data", str(shapes_dir), "--per_device_batch", "2",
              "--max_steps", "6", "--save_steps", "2"]
    uninterrupted = tmp_path / "uninterrupted"
    expected_result, expected = _run([*common, "--out", str(uninterrupted)], uninterrupted)

    killed = tmp_path / "killed"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    crash = subprocess.run([*common, "--out", str(killed), "--kill_during_save", "4"], capture_output=True, text=True, env=env, timeout=600)
    assert crash.returncode != 0 and not (killed / "result.json").exists()
    partial = killed / "run" / "checkpoint-4"
    assert partial.is_dir() and (partial / "rng_state_1.pth").stat().st_size < 100  # the half-written file

    result, params = _run([*common, "--out", str(killed), "--resume"], killed)
    assert f"skipping the incomplete checkpoint {partial}: rng_state_1.pth is truncated" in (killed / "log.txt").read_text()
    assert result["global_step"] == 6 and result["num_processes"] == 2
    assert result["losses"] == pytest.approx(expected_result["losses"], rel=1e-6)
    assert sorted(params) == sorted(expected)
    for name, value in expected.items():
        assert torch.allclose(params[name], value, atol=1e-6, rtol=0), name


@pytest.mark.parametrize("config", ["deepspeed_zero3_offload.yaml", "fsdp.yaml", "multi_gpu.yaml", "deepspeed_zero2.yaml", "deepspeed_zero3.yaml", "cpu.yaml"])
def test_every_launch_config_parses(config):
    """accelerate reads each shipped config. ZeRO-3 offload starts on CPU too but builds DeepSpeed's CPU Adam op
    first (minutes), and accelerate turns FSDP into plain multi-CPU DDP without a GPU: both are checked here for what
    they ask, and need GPUs to run as themselves (README table)."""
    from accelerate.commands.config.config_args import load_config_from_file

    loaded = load_config_from_file(str(CONFIGS / config))
    expected = {"cpu.yaml": "NO", "multi_gpu.yaml": "MULTI_GPU", "fsdp.yaml": "FSDP"}.get(config, "DEEPSPEED")
    assert str(loaded.distributed_type).endswith(expected)
    if config == "deepspeed_zero3_offload.yaml":
        assert loaded.deepspeed_config["offload_optimizer_device"] == loaded.deepspeed_config["offload_param_device"] == "cpu"
    if config == "fsdp.yaml":
        assert loaded.fsdp_config["fsdp_sharding_strategy"] == "FULL_SHARD"

"""Publishing against a local Hub-compatible HTTP server (tests/hub/hub_server.py on 127.0.0.1): the real
huggingface_hub, transformers, peft, datasets and evaluate clients run in a fresh process with HF_ENDPOINT pointing
at it (the endpoint is read when those libraries are imported)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hub_server import HubServer

HERE = Path(__file__).resolve().parent
TOKENS = {"hf_alice": "alice", "hf_bob": "bob", "hf_friedrichor": "friedrichor", "hf_ofa": "OFA-Sys"}


@pytest.fixture
def hub():
    with HubServer(TOKENS) as server:
        yield server


def run_client(hub, scenario, shapes_dir, tmp_path, token="hf_alice"):
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_OFFLINE": "0",
        "HF_DATASETS_OFFLINE": "0",
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_TOKEN": token,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    output = tmp_path / "output"
    process = subprocess.run(
        [sys.executable, str(HERE / "hub_client.py"), scenario, str(shapes_dir), str(output)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    assert process.returncode == 0 and lines, f"client failed:\n{process.stdout[-3000:]}\n{process.stderr[-6000:]}"
    result = json.loads(lines[-1][len("RESULT ") :])
    result["token_printed"] = token in process.stdout + process.stderr
    return result


def test_push_trained_lora_checkpoint_download_and_reload(hub, shapes_dir, tmp_path):
    result = run_client(hub, "publish", shapes_dir, tmp_path)
    files = set(result["files"])
    assert {"README.md", "adapter_config.json", "adapter_model.safetensors", "training_config.json", "video_processor_config.json", "tokenizer.json"} <= files
    assert {"merged/config.json", "merged/model.safetensors"} <= files
    # The pushed adapter and the pushed merged model give the trained model's outputs; the base model does not.
    assert result["adapter_vs_trained"] < 1e-5
    assert result["merged_vs_trained"] < 1e-4
    assert result["base_vs_trained"] > 1e-3
    # The card carries the last evaluation as model-index metadata...
    assert ["validation", "cider_d", pytest.approx(result["logged_eval_cider_d"])] in [list(r) for r in result["card_results"]]
    # ...and push_eval_results added test results to the existing repo without removing them.
    after = [list(r) for r in result["card_results_after"]]
    assert ["test", "cider_d", 1.25] in after and ["test", "bleu_4", 0.5] in after
    assert any(r[0] == "validation" and r[1] == "cider_d" for r in after)
    assert result["card_base_model"] == "alice/tiny-video-blip2"
    assert "`cider_d` × 1.0" in result["card_text"] and "| baseline | greedy |" in result["card_text"]
    assert result["info_model_index"][0]["results"]  # the server's model_info parses the same card
    assert result["pushed_config"] == 3
    # The token (passed as HF_TOKEN and as hub_token) appears in no output line, pushed file or local file.
    assert result["files_with_token"] == [] and not result["token_printed"]


def test_network_failure_during_push_is_a_clear_error_and_leaves_the_checkpoint(hub, shapes_dir, tmp_path):
    hub.fail("commit", times=2, repo_prefix="alice/tiny-fail")  # the trainer's push, then the helper's
    result = run_client(hub, "failure", shapes_dir, tmp_path)
    for key in ("trainer_error", "helper_error"):
        message = result[key]
        assert message is not None, f"{key}: the push did not fail"
        assert hub.url in message and "connection to the Hub broke" in message
    assert "untouched" in result["helper_error"]
    assert f"Nothing was written into {tmp_path / 'output'}" in result["trainer_error"] and "alice/tiny-fail" in result["trainer_error"]
    assert result["output_untouched"] and result["helper_untouched"]
    assert result["remote_files"] == []  # nothing half-committed
    assert result["local_reloads"] == "VideoBlip2ForConditionalGeneration"


def test_private_repos_refuse_access_without_the_owners_token(hub, shapes_dir, tmp_path):
    result = run_client(hub, "private", shapes_dir, tmp_path)
    assert "model.safetensors" in result["owner_files"]
    for who in ("anonymous", "bob"):
        assert result[f"{who}_info"] == "RepositoryNotFoundError"
        assert result[f"{who}_download"] != "allowed"
        assert "alice/secret" in result[f"{who}_from_pretrained"]
    assert result["anonymous_create"] != "allowed"


def test_metric_module_pushed_as_a_space_loads_with_evaluate(hub, shapes_dir, tmp_path):
    result = run_client(hub, "metric", shapes_dir, tmp_path)
    assert result["hub"] == pytest.approx(result["local"], abs=1e-12)
    assert result["diversity"]["vocabulary_size"] == 6
    # Every module of metrics/ loads from the Hub as its own evaluate.Metric class.
    assert result["loaded"] == {
        "bleu": "CaptionBleu", "caption_diversity": "CaptionDiversity", "cider_d": "CiderDMetric",
        "clip_retrieval": "ClipRetrieval", "clip_score": "ClipScore", "meteor": "Meteor", "rouge_l": "RougeL",
        "spice": "Spice", "zero_shot_classification": "ZeroShotClassification",
    }
    assert ("GET", "/spaces/alice/cider_d/resolve/main/cider_d.py") in hub.state.requests


def test_generated_captions_round_trip_as_a_hub_dataset(hub, shapes_dir, tmp_path):
    result = run_client(hub, "predictions_dataset", shapes_dir, tmp_path)
    assert result["rows"] == [
        {"video_id": "v0", "caption": "a red circle", "references": ["a red circle moves"]},
        {"video_id": "v1", "caption": "a blue square", "references": ["a blue square"]},
    ]


def test_video_datasets_load_from_their_hub_repositories(hub, tmp_path):
    sys.path.insert(0, str(HERE.parent / "data"))
    from layouts import MSVD_SPLIT_IDS, write_msrvtt_hub_layout, write_msvd_hub_layout

    write_msvd_hub_layout(tmp_path / "fixtures" / "msvd")
    write_msrvtt_hub_layout(tmp_path / "fixtures" / "msrvtt")
    result = run_client(hub, "video_datasets", tmp_path / "fixtures", tmp_path, token="hf_friedrichor")
    assert result["msvd_ids"] == MSVD_SPLIT_IDS["test"]
    assert result["msvd_captions"][0] == ["tst_5_9 caption one", "tst_5_9 caption two"]
    # Only the requested split's videos were downloaded.
    assert result["msvd_downloaded_videos"] == sorted(f"{v}.avi" for v in MSVD_SPLIT_IDS["test"])
    assert result["msvd_frames"] == [4, 32, 32, 3]
    assert result["msrvtt_ids"] == ["video0", "video1", "video2"] and result["msrvtt_frames"] == [4, 32, 32, 3]


def test_ofa_release_checkpoint_loads_from_its_hub_repository_and_saves_in_our_layout(hub, tmp_path):
    """OFA-Sys/ofa-tiny in the release's layout (tests/models/ofa_release_layout.py: key names from the port's code)."""
    sys.path.insert(0, str(HERE.parent / "models"))
    from ofa_release_layout import write_ofa_release_repo

    from hf_vidcap.data.shapes import shapes_vocabulary

    config = write_ofa_release_repo(str(tmp_path / "fixture"), shapes_vocabulary())
    result = run_client(hub, "ofa_release", tmp_path / "fixture", tmp_path, token="hf_ofa")
    # Every parameter holds the release's value, and the logits are those of the hand-converted state dict.
    assert result["param_diffs"] == 0.0
    assert result["logits_vs_reference"] == 0.0 and result["logits_abs"] > 0.1
    assert result["auto_vs_reference"] == 0.0 and result["reloaded_vs_reference"] == 0.0
    assert result["model_config"] == {"image_size": 32, "use_cache": True, "d_model": 32, "vocab_size": config["vocab_size"], "forced_eos_token_id": 2}
    # save_pretrained writes hf_vidcap's layout (safetensors, our names, the video settings) and that reloads.
    assert {"config.json", "model.safetensors", "tokenizer.json", "video_processor_config.json"} <= set(result["saved_files"])
    assert result["saved_config_has"] == ["image_size", "frame_fusion"]
    assert result["saved_keys_prefixes"] == ["lm_head", "model"]
    # The tokenizer is BART's with <code_0..8191> then <bin_0..999> appended, as the release's OFATokenizer does.
    base = config["vocab_size"] - 9192
    assert result["tokenizer_len"] == result["reloaded_tokenizer_len"] == config["vocab_size"]
    assert [result["code_0"], result["bin_0"], result["bin_999"]] == [base, base + 8192, base + 9191]
    assert result["special"] == [0, 1, 2] and result["prefix"] == "<s> what does the image describe?</s>"
    assert result["processor_image_size"] == 32 and result["auto_processor"] == "OFAProcessor"
    assert result["caption_shape"][0] == 2


def test_claster_pushed_to_the_hub_loads_back_with_its_centroids_and_classes(hub, tmp_path):
    result = run_client(hub, "claster_push", tmp_path, tmp_path)
    assert result["class"] == "ClasterForZeroShotVideoClassification" and result["same_predictions"]
    assert result["centroids_equal"] and result["embeddings_equal"] and result["threshold"] == 0.5
    assert result["class_names"][0] == "circle moving left" and not result["token_printed"]


def test_bad_publishing_arguments_are_named():
    from hf_vidcap import hub

    with pytest.raises(ValueError, match="no metric module 'cider'; use a folder path or one of \\['bleu'"):
        hub.push_metric("cider", "alice/cider")
    with pytest.raises(ValueError, match="must end with the module name 'cider_d'"):
        hub.push_metric("cider_d", "alice/my-cider")
    with pytest.raises(ValueError, match="reward_weights has 1 values but there are 2 rewards"):
        hub.build_model_card("m", rewards=["cider_d", "clip_s"], reward_weights=[1.0])
    with pytest.raises(ValueError, match="got 2 video_ids but 1 captions"):
        hub.push_predictions(["v0", "v1"], ["a caption"], "alice/captions")
    with pytest.raises(FileNotFoundError, match="save the checkpoint there first"):
        hub.push_folder("/nonexistent/checkpoint", "alice/x")


def test_model_card_renders_results_as_model_index():
    from hf_vidcap import hub

    results = hub.eval_results_from_metrics({"test_cider_d": 1.5, "test_bleu_4": 0.25, "test_runtime": 3.0}, "msr-vtt")
    card = hub.build_model_card(
        "blip2-scst", base_model="Salesforce/blip2-opt-2.7b", datasets=["msr-vtt"], rewards=["cider_d", "clip_s"],
        reward_weights=[1.0, 0.5], baseline="greedy", hyperparameters={"learning_rate": 1e-5}, eval_results=results, adapter=True,
    )
    index = card.data.to_dict()["model-index"][0]
    assert index["name"] == "blip2-scst"
    metrics = {m["type"]: m["value"] for m in index["results"][0]["metrics"]}
    assert metrics == {"cider_d": 1.5, "bleu_4": 0.25}  # runtime is not a result
    assert index["results"][0]["dataset"] == {"name": "msr-vtt", "type": "msr-vtt", "split": "test"}
    assert "`cider_d` × 1.0, `clip_s` × 0.5" in card.text and "| CIDEr-D | 1.5000 |" in card.text
    assert 'PeftModel.from_pretrained(base, "blip2-scst")' in card.text


def test_cli_push_uploads_a_checkpoint_and_its_results(hub, tmp_path, monkeypatch):
    """`hf-vidcap push` in a fresh process against the local Hub: the checkpoint's files, then the results of an
    `hf-vidcap evaluate --output` JSON in the model card's model-index."""
    from huggingface_hub import HfApi

    from hf_vidcap.models import save_tiny_checkpoint

    save_tiny_checkpoint("video_git", tmp_path / "ckpt", num_frames=4)
    (tmp_path / "r.json").write_text(json.dumps({"dataset": "shapes", "split": "test", "metrics": {"cider_d": 1.2345, "bleu_4": 0.5}}))
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf_home")}
    process = subprocess.run(
        [sys.executable, "-m", "hf_vidcap.cli", "push", str(tmp_path / "ckpt"), "--repo_id", "alice/cli-git", "--results", str(tmp_path / "r.json"), "--token", "hf_alice"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert "pushed" in process.stdout and "evaluation results added" in process.stdout
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)  # the suite runs offline; read it back here
    api = HfApi(endpoint=hub.url, token="hf_alice")
    assert {"config.json", "model.safetensors", "video_processor_config.json"} <= set(api.list_repo_files("alice/cli-git"))
    card = Path(api.hf_hub_download("alice/cli-git", "README.md", cache_dir=str(tmp_path / "cache"))).read_text()
    assert "model-index" in card and "1.2345" in card and "shapes" in card

"""Scenarios that run the real huggingface_hub / transformers / peft / evaluate / datasets clients against the test
Hub server. Run in a fresh process (HF_ENDPOINT is read at import time): ``python hub_client.py SCENARIO SHAPES_DIR
OUTPUT_DIR``; prints one JSON line with what the test asserts on."""

import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "trainer"))

import torch  # noqa: E402

from hf_vidcap import VideoBlip2ForConditionalGeneration, VideoBlip2Processor  # noqa: E402
from hf_vidcap.data import build_shapes_tokenizer, load_shapes_dataset  # noqa: E402


def file_hashes(folder) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }


def caption_logprobs(model, processor, batch):
    from hf_vidcap.captioning import caption_token_logprobs

    encoded = processor.tokenizer(["a red circle moves left", "a blue square"], add_special_tokens=False, padding=True, return_tensors="pt")
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    with torch.no_grad():
        return caption_token_logprobs(model.eval(), processor, ids, mask, pixel_values=batch["pixel_values"][:2])


def make_trainer(shapes_dir, output_dir, hub_model_id, lora=True, max_steps=2, **kwargs):
    from helpers import make_args
    from peft import LoraConfig

    from hf_vidcap.rewards import get_cider_d_reward
    from hf_vidcap.trainer import VideoSCSTTrainer

    dataset = load_shapes_dataset(shapes_dir)
    base = VideoBlip2ForConditionalGeneration.from_pretrained("alice/tiny-video-blip2")
    processor = VideoBlip2Processor.from_pretrained("alice/tiny-video-blip2")
    args = make_args(output_dir, max_steps=max_steps, hub_model_id=hub_model_id, learning_rate=5e-2, **kwargs)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]) if lora else None
    trainer = VideoSCSTTrainer(
        base, [get_cider_d_reward(dataset["train"]["captions"])], args, train_dataset=dataset["train"],
        eval_dataset=dataset["validation"], processing_class=processor, peft_config=config,
    )
    return trainer, dataset


def push_base(shapes_dir):
    from helpers import make_model_and_processor

    model, processor = make_model_and_processor(build_shapes_tokenizer())
    model.push_to_hub("alice/tiny-video-blip2")
    processor.push_to_hub("alice/tiny-video-blip2")


def publish(shapes_dir, output_dir):
    from huggingface_hub import HfApi, ModelCard, snapshot_download
    from peft import PeftModel

    from hf_vidcap.hub import push_eval_results

    push_base(shapes_dir)
    # The token goes through the training arguments too: it must not reach any repr, log line, card or pushed file
    # (the test scans this process's output and every file for it).
    trainer, dataset = make_trainer(shapes_dir, output_dir, "alice/tiny-scst", hub_token=os.environ["HF_TOKEN"], log_level="info")
    print(repr(trainer.args))
    print(trainer.args)
    trainer.train()
    trainer.evaluate()
    trainer.push_to_hub(dataset_name="shapes", push_merged=True)
    local = snapshot_download("alice/tiny-scst")
    token = os.environ["HF_TOKEN"].encode()
    files_with_token = [
        str(path) for folder in (local, output_dir) for path in Path(folder).rglob("*") if path.is_file() and token in path.read_bytes()
    ]

    batch = trainer.data_collator([dataset["test"][i] for i in range(2)])
    trained = caption_logprobs(trainer.model, trainer.processing_class, batch)
    adapter = PeftModel.from_pretrained(VideoBlip2ForConditionalGeneration.from_pretrained("alice/tiny-video-blip2"), "alice/tiny-scst")
    merged = VideoBlip2ForConditionalGeneration.from_pretrained("alice/tiny-scst", subfolder="merged")
    processor = VideoBlip2Processor.from_pretrained("alice/tiny-scst")
    base = VideoBlip2ForConditionalGeneration.from_pretrained("alice/tiny-video-blip2")
    card = ModelCard.load("alice/tiny-scst")
    before = [(r.dataset_split, r.metric_type, r.metric_value) for r in card.data.eval_results]
    push_eval_results("alice/tiny-scst", {"test_cider_d": 1.25, "test_bleu_4": 0.5}, dataset_name="shapes", dataset_split="test")
    after_card = ModelCard.load("alice/tiny-scst")
    info = HfApi().model_info("alice/tiny-scst")
    return {
        "files": sorted(file_hashes(local)),
        "adapter_vs_trained": (caption_logprobs(adapter, processor, batch) - trained).abs().max().item(),
        "merged_vs_trained": (caption_logprobs(merged, processor, batch) - trained).abs().max().item(),
        "base_vs_trained": (caption_logprobs(base, processor, batch) - trained).abs().max().item(),
        "card_results": before,
        "logged_eval_cider_d": trainer._latest_eval_metrics()["eval_cider_d"],
        "card_results_after": [(r.dataset_split, r.metric_type, r.metric_value) for r in after_card.data.eval_results],
        "card_base_model": after_card.data.base_model,
        "card_text": after_card.text,
        "info_model_index": info.model_index,
        "pushed_config": json.loads(Path(local, "training_config.json").read_text())["num_generations"],
        "files_with_token": files_with_token,
    }


def failure(shapes_dir, output_dir):
    """The test server drops the next commit request."""
    from huggingface_hub import HfApi

    from hf_vidcap.hub import HubPushError, push_folder

    push_base(shapes_dir)
    trainer, _ = make_trainer(shapes_dir, output_dir, "alice/tiny-fail", lora=False, max_steps=1)
    trainer.train()
    trainer.save_model()
    before = file_hashes(output_dir)
    result = {}
    try:
        trainer.push_to_hub(dataset_name="shapes")
        result["trainer_error"] = None
    except HubPushError as error:
        result["trainer_error"] = str(error)
    # Every file as it was, the card and the training config included: the push stages its files elsewhere.
    result["output_untouched"] = file_hashes(output_dir) == before
    result["remote_files"] = HfApi().list_repo_files("alice/tiny-fail")
    reloaded = VideoBlip2ForConditionalGeneration.from_pretrained(output_dir)
    result["local_reloads"] = type(reloaded).__name__
    snapshot = file_hashes(output_dir)
    try:
        push_folder(output_dir, "alice/tiny-fail-helper")
        result["helper_error"] = None
    except HubPushError as error:
        result["helper_error"] = str(error)
    result["helper_untouched"] = file_hashes(output_dir) == snapshot
    return result


def private(shapes_dir, output_dir):
    from helpers import make_model_and_processor
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import RepositoryNotFoundError

    model, _ = make_model_and_processor(build_shapes_tokenizer())
    model.push_to_hub("alice/secret", private=True)
    result = {"owner_files": sorted(HfApi().list_repo_files("alice/secret"))}
    for who, token in (("anonymous", False), ("bob", "hf_bob")):
        try:
            HfApi().model_info("alice/secret", token=token)
            result[f"{who}_info"] = "allowed"
        except RepositoryNotFoundError as error:
            result[f"{who}_info"] = type(error).__name__
        try:
            snapshot_download("alice/secret", token=token, cache_dir=os.path.join(output_dir, who))
            result[f"{who}_download"] = "allowed"
        except Exception as error:  # the exact class depends on the step that fails
            result[f"{who}_download"] = type(error).__name__
        try:
            VideoBlip2ForConditionalGeneration.from_pretrained("alice/secret", token=token, cache_dir=os.path.join(output_dir, who + "_tf"))
            result[f"{who}_from_pretrained"] = "allowed"
        except OSError as error:
            result[f"{who}_from_pretrained"] = str(error)[:300]
    try:
        HfApi(token=False).create_repo("alice/anonymous-write")
        result["anonymous_create"] = "allowed"
    except Exception as error:
        result["anonymous_create"] = type(error).__name__
    return result


def metric(shapes_dir, output_dir):
    import evaluate

    from hf_vidcap.hub import push_metric

    push_metric("cider_d", "alice/cider_d")
    push_metric("caption_diversity", "alice/caption_diversity")
    predictions = ["a red circle moves left", "a blue square"]
    references = [["a red circle moves left"], ["a blue square grows"]]
    metrics_dir = HERE.parents[1] / "metrics"
    loaded = {}
    for folder in sorted(p for p in metrics_dir.iterdir() if p.is_dir()):
        if folder.name not in ("cider_d", "caption_diversity"):
            push_metric(folder.name, f"alice/{folder.name}")
        loaded[folder.name] = type(evaluate.load(f"alice/{folder.name}")).__name__
    hub_module = evaluate.load("alice/cider_d")
    local_module = evaluate.load(str(HERE.parents[1] / "metrics" / "cider_d"))
    diversity = evaluate.load("alice/caption_diversity").compute(predictions=[["a red circle", "a blue circle"], ["a square", "a square grows"]])
    return {
        "hub": hub_module.compute(predictions=predictions, references=references)["cider_d"],
        "local": local_module.compute(predictions=predictions, references=references)["cider_d"],
        "diversity": diversity,
        "loaded": loaded,
    }


def predictions_dataset(shapes_dir, output_dir):
    import datasets

    from hf_vidcap.hub import push_predictions

    push_predictions(["v0", "v1"], ["a red circle", "a blue square"], "alice/tiny-scst-captions", references=[["a red circle moves"], ["a blue square"]])
    loaded = datasets.load_dataset("alice/tiny-scst-captions", split="test")
    return {"rows": loaded.to_list(), "features": list(loaded.features)}


def video_datasets(fixture_dir, output_dir):
    """Upload the MSVD and MSR-VTT fixture layouts as their Hub repositories, then load splits from "the Hub"."""
    from huggingface_hub import HfApi

    from hf_vidcap.data import decode_video, load_caption_dataset

    api = HfApi()
    for repo, folder in (("friedrichor/MSVD", "msvd"), ("friedrichor/MSR-VTT", "msrvtt")):
        api.create_repo(repo, repo_type="dataset")
        api.upload_folder(repo_id=repo, repo_type="dataset", folder_path=os.path.join(fixture_dir, folder))
    msvd = load_caption_dataset("msvd", "test", download_videos=True)
    msrvtt = load_caption_dataset("msrvtt", "train_7k", download_videos=True)
    snapshot = Path(msvd[0]["video"]["path"]).parent
    return {
        "msvd_ids": list(msvd["video_id"]),
        "msvd_captions": list(msvd["captions"]),
        "msvd_downloaded_videos": sorted(p.name for p in snapshot.iterdir()),
        "msvd_frames": list(decode_video(msvd[0]["video"], 4).shape),
        "msrvtt_ids": list(msrvtt["video_id"]),
        "msrvtt_frames": list(decode_video(msrvtt[2]["video"], 4).shape),
    }


def ofa_release(fixture_dir, output_dir):
    """Upload a repository in the OFA-Sys release layout as OFA-Sys/ofa-tiny, load it from "the Hub" (the model
    class, the Auto classes and the processor), compare with the converted state dict loaded by hand, then save in
    hf_vidcap's layout and reload."""
    from huggingface_hub import HfApi

    from hf_vidcap import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor
    from hf_vidcap.captioning import generate_captions, make_generation_config
    from hf_vidcap.models import OFAConfig, OFAForConditionalGeneration, OFAProcessor, convert_ofa_state_dict

    api = HfApi()
    api.create_repo("OFA-Sys/ofa-tiny")
    api.upload_folder(repo_id="OFA-Sys/ofa-tiny", folder_path=fixture_dir)

    model = OFAForConditionalGeneration.from_pretrained("OFA-Sys/ofa-tiny", image_size=32)
    processor = OFAProcessor.from_pretrained("OFA-Sys/ofa-tiny", image_size=32)
    auto_model = AutoModelForVideoCaptioning.from_pretrained("OFA-Sys/ofa-tiny", config_overrides={"image_size": 32})
    auto_processor = AutoVideoCaptionProcessor.from_pretrained("OFA-Sys/ofa-tiny", image_size=32)

    # By hand: the release's state dict, converted, into a model built from the converted config.
    with open(os.path.join(fixture_dir, "config.json")) as f:
        reference = OFAForConditionalGeneration(OFAConfig.from_dict(json.load(f), image_size=32)).eval()
    original = torch.load(os.path.join(fixture_dir, "pytorch_model.bin"), weights_only=True)
    reference.load_state_dict(convert_ofa_state_dict(original), strict=True)

    video = torch.randn(2, 3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    prefix = torch.tensor([processor.prefix_ids()] * 2)
    decoder_ids = torch.tensor([[0, 40, 41, 42]] * 2)

    def logits(m):
        with torch.no_grad():
            return m(input_ids=prefix, pixel_values=video, decoder_input_ids=decoder_ids).logits

    def max_diff(a, b):
        return float((a - b).abs().max())

    saved = os.path.join(output_dir, "saved")
    model.save_pretrained(saved)
    processor.save_pretrained(saved)
    reloaded = OFAForConditionalGeneration.from_pretrained(saved)
    reloaded_processor = OFAProcessor.from_pretrained(saved)
    with open(os.path.join(saved, "config.json")) as f:
        saved_config = json.load(f)
    captions, _ = generate_captions(model, processor, model.get_video_embeds(video), make_generation_config(processor, 5))
    reference_state = reference.state_dict()
    tokenizer = processor.tokenizer
    return {
        "param_diffs": max(max_diff(value, reference_state[key]) for key, value in model.state_dict().items()),
        "logits_vs_reference": max_diff(logits(model), logits(reference)),
        "logits_abs": float(logits(reference).abs().mean()),
        "auto_vs_reference": max_diff(logits(auto_model), logits(reference)),
        "reloaded_vs_reference": max_diff(logits(reloaded), logits(reference)),
        "model_config": {key: getattr(model.config, key) for key in ("image_size", "use_cache", "d_model", "vocab_size", "forced_eos_token_id")},
        "saved_files": sorted(os.listdir(saved)),
        "saved_config_has": [key for key in ("image_size", "frame_fusion") if key in saved_config],
        "saved_keys_prefixes": sorted({key.split(".")[0] for key in reloaded.state_dict()}),
        "tokenizer_len": len(tokenizer),
        "code_0": tokenizer.convert_tokens_to_ids("<code_0>"),
        "bin_0": tokenizer.convert_tokens_to_ids("<bin_0>"),
        "bin_999": tokenizer.convert_tokens_to_ids("<bin_999>"),
        "special": [tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id],
        "prefix": tokenizer.decode(processor.prefix_ids()),
        "processor_image_size": processor.image_size,
        "auto_processor": type(auto_processor).__name__,
        "reloaded_tokenizer_len": len(reloaded_processor.tokenizer),
        "caption_shape": list(captions.shape),
    }


def claster_push(_shapes, output_dir):
    """A trained CLASTER pushed with push_to_hub (centroids, MLPs, class embeddings, feature statistics and the bias
    threshold), loaded back from "the Hub" through AutoModel: the same predictions."""
    from transformers import AutoModel

    from hf_vidcap.models import ClasterConfig, ClasterForZeroShotVideoClassification

    torch.manual_seed(0)
    names = ["circle moving left", "circle moving right", "square moving left", "square moving right"]
    model = ClasterForZeroShotVideoClassification(ClasterConfig(visual_size=6, semantic_size=4, hidden_size=8, num_clusters=2, class_names=names, seen_classes=[0, 1, 2], rectification_neighbors=2))
    model.set_class_embeddings(torch.randn(4, 4))
    model.set_feature_statistics(torch.randn(12, 6) * 2 + 1)
    model.initialize_centroids(torch.randn(12, 6), torch.tensor([0, 1, 2] * 4))
    model.config.seen_detection_threshold = 0.5
    model.push_to_hub("alice/claster-tiny")
    loaded = AutoModel.from_pretrained("alice/claster-tiny")
    x = torch.randn(16, 6)
    return {
        "class": type(loaded).__name__,
        "same_predictions": all(torch.equal(model.predict(x, task=t), loaded.predict(x, task=t)) for t in ("zsl", "gzsl", "seen")),
        "centroids_equal": torch.equal(model.centroids, loaded.centroids),
        "embeddings_equal": torch.equal(model.class_embeddings, loaded.class_embeddings) and torch.equal(model.feature_std, loaded.feature_std),
        "threshold": loaded.config.seen_detection_threshold,
        "class_names": loaded.config.class_names,
    }


if __name__ == "__main__":
    scenario, shapes, output = sys.argv[1:4]
    result = globals()[scenario](shapes, output)
    print("RESULT " + json.dumps(result))

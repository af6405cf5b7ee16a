import json
from pathlib import Path

import pytest
from trl import ModelConfig, TrlParser

from hf_vidcap.scripts import VideoScriptArguments
from hf_vidcap.trainer import VideoSCSTConfig

# GPU configs ask for bf16, which TrainingArguments refuses on a machine without a GPU unless use_cpu is set.
CPU = ["--use_cpu", "true"]
# CLASTER's recipe has its own argument classes (tested at the end of this file).
CONFIGS = sorted(p for p in (Path(__file__).parents[1] / "recipes" / "configs").rglob("*.yaml") if p.parent.name != "claster")
CLASTER_CONFIGS = sorted((Path(__file__).parents[1] / "recipes" / "configs" / "claster").glob("*.yaml"))


RECIPE_OF_CONFIG_DIR = {"blip2": "blip2_msrvtt_scst", "git": "git_kinetics_regen", "ofa": "ofa_coco_wtf", "qwen2_vl": "blip2_msrvtt_scst", "qwen2_5_vl": "blip2_msrvtt_scst"}


def _script_arguments(config_path):
    """The script-arguments class of the recipe a config belongs to (by its folder): its own subclass of
    VideoScriptArguments, if it defines one."""
    recipe = _load_recipe(RECIPE_OF_CONFIG_DIR[config_path.parent.name])
    own = [value for value in vars(recipe).values() if isinstance(value, type) and issubclass(value, VideoScriptArguments) and value is not VideoScriptArguments]
    return own[0] if own else VideoScriptArguments


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_recipe_config_parses(path):
    parser = TrlParser((_script_arguments(path), VideoSCSTConfig, ModelConfig))
    script_args, training_args, model_args = parser.parse_args_and_config(["--config", str(path), *CPU])
    assert training_args.remove_unused_columns is False
    assert script_args.dataset_name
    assert model_args.model_name_or_path


def test_paper_config_has_the_paper_settings():
    parser = TrlParser((VideoScriptArguments, VideoSCSTConfig, ModelConfig))
    path = Path(__file__).parents[1] / "recipes" / "configs" / "blip2" / "msrvtt_scst.yaml"
    script_args, training_args, model_args = parser.parse_args_and_config(["--config", str(path), *CPU])
    assert model_args.model_name_or_path == "Salesforce/blip2-flan-t5-xl"
    assert training_args.num_frames == 16 and script_args.prompt == "a video of"
    assert (model_args.lora_r, model_args.lora_alpha, model_args.lora_target_modules) == (8, 16, ["q", "v"])
    assert (script_args.dataset_name, script_args.dataset_train_split, script_args.dataset_test_split) == ("msrvtt", "train_9k", "test_1k")


def _load_recipe(name):
    import importlib.util

    path = Path(__file__).parents[1] / "recipes" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _demo_checkpoint(path):
    """The checkpoint `make demo` writes before the recipe runs (same command, same settings)."""
    from hf_vidcap.models.tiny_checkpoints import main as write_tiny_checkpoint

    makefile = (Path(__file__).parents[1] / "Makefile").read_text()
    assert "-m hf_vidcap.models.tiny_checkpoints video_blip2 outputs/tiny_video_blip2_shapes \\\n\t\t--num_frames 8 --frame_differences append" in makefile
    write_tiny_checkpoint(["video_blip2", str(path), "--num_frames", "8", "--frame_differences", "append"])
    return str(path)


def test_offline_recipe_trains_evaluates_saves_and_reloads(tmp_path, capsys, caplog):
    import torch

    from hf_vidcap import VideoBlip2ForConditionalGeneration, VideoBlip2Processor
    from hf_vidcap.data import VideoCaptionCollator, load_shapes_dataset
    from hf_vidcap.evaluation import generate_for_dataset

    recipe = _load_recipe("blip2_msrvtt_scst")
    config = Path(__file__).parents[1] / "recipes" / "configs" / "blip2" / "shapes_tiny_scst.yaml"
    overrides = [
        "--model_name_or_path", _demo_checkpoint(tmp_path / "tiny"), "--shapes_dir", str(tmp_path / "shapes"), "--shapes_num_train", "24", "--shapes_num_validation", "4",
        "--shapes_num_test", "4", "--max_steps", "3", "--xe_warmup_steps", "2", "--per_device_train_batch_size", "4",
        "--num_generations", "2", "--logging_steps", "1", "--output_dir", str(tmp_path / "out"), "--disable_tqdm", "true",
    ]
    parser = TrlParser((VideoScriptArguments, VideoSCSTConfig, ModelConfig))
    trainer = recipe.main(*parser.parse_args_and_config(["--config", str(config), *overrides]))
    table = capsys.readouterr().out
    logged = caplog.text
    assert "| initial (step 0) | eval |" in table and "| XE (step 2) | eval |" in table and "| final (step 3) | test |" in table
    # Each evaluation's console line names its stage and split.
    assert "evaluation, XE stage (step 2), eval: cider_d " in logged and "evaluation, SCST stage (step 3), test: cider_d " in logged
    curves = tmp_path / "out" / "training_curves.png"  # the run's picture, and where it is
    assert f"training curves: {curves}" in table and curves.read_bytes()[:4] == b"\x89PNG"
    import json

    assert "test_cider_d" in json.loads((tmp_path / "out" / "test_results.json").read_text())  # the numbers outlive stdout

    # The saved checkpoint and processor reload and caption exactly like the trained model did.
    model = VideoBlip2ForConditionalGeneration.from_pretrained(tmp_path / "out").eval()
    processor = VideoBlip2Processor.from_pretrained(tmp_path / "out")
    assert processor.frame_differences == "append" and model.config.num_frames == 15
    test_set = load_shapes_dataset(tmp_path / "shapes")["test"]
    collator = VideoCaptionCollator(processor, num_frames=8)
    captions, columns = generate_for_dataset(model, processor, test_set, collator, show_progress=False)
    assert len(captions) == 4
    assert "video_frames" not in columns and len(columns["captions"]) == 4  # a split's frames are not kept
    trained, _ = generate_for_dataset(trainer.model, processor, test_set, collator, show_progress=False)
    assert captions == trained
    for name, param in model.state_dict().items():
        torch.testing.assert_close(param, trainer.model.state_dict()[name], rtol=0, atol=0)

    # Rewards come from the YAML / command line: names, arguments and weights.
    overrides[overrides.index("--output_dir") + 1] = str(tmp_path / "two_rewards")
    two = parser.parse_args_and_config(
        ["--config", str(config), *overrides, "--reward_funcs", "cider_d", "bleu", "--reward_weights", "1.0", "0.5",
         "--max_steps", "3", "--xe_warmup_steps", "2"]
    )
    trained_two = recipe.main(*two)
    assert [f.__name__ for f in trained_two.reward_funcs] == ["cider_d", "bleu_4"]
    assert trained_two.reward_weights.tolist() == [1.0, 0.5]
    assert any("rewards/bleu_4/mean" in entry for entry in trained_two.state.log_history)

    # Same seed, same run.
    overrides[overrides.index("--output_dir") + 1] = str(tmp_path / "again")
    again = recipe.main(*parser.parse_args_and_config(["--config", str(config), *overrides]))
    for name, param in again.model.state_dict().items():
        torch.testing.assert_close(param, trainer.model.state_dict()[name], rtol=0, atol=0)


@pytest.mark.parametrize("model_type", ["video_git", "ofa", "qwen2_vl", "qwen2_5_vl", "qwen3_vl", "llava_onevision", "llava_next_video", "smolvlm", "instructblipvideo"])
def test_the_recipe_trains_any_captioner_checkpoint(tmp_path, capsys, model_type):
    """GIT, OFA and transformers video VLM checkpoints run through the same recipe and YAML; only
    model_name_or_path (and LoRA) change."""
    from hf_vidcap.models import save_tiny_checkpoint

    save_tiny_checkpoint(model_type, tmp_path / "tiny", num_frames=4, image_size={"qwen3_vl": 64, "smolvlm": 64, "instructblipvideo": 28, "video_git": 64, "ofa": 64}.get(model_type, 56))
    recipe = _load_recipe("blip2_msrvtt_scst")
    config = Path(__file__).parents[1] / "recipes" / "configs" / "blip2" / "shapes_tiny_scst.yaml"
    args = [
        "--config", str(config), "--model_name_or_path", str(tmp_path / "tiny"), "--num_frames", "4",
        "--shapes_dir", str(tmp_path / "shapes"), "--shapes_num_train", "8", "--shapes_num_validation", "2",
        "--shapes_num_test", "2", "--max_steps", "2", "--xe_warmup_steps", "1", "--per_device_train_batch_size", "2",
        "--num_generations", "2", "--output_dir", str(tmp_path / "out"), "--disable_tqdm", "true",
        "--use_peft", "true", "--lora_r", "4",
    ]
    parser = TrlParser((VideoScriptArguments, VideoSCSTConfig, ModelConfig))
    trainer = recipe.main(*parser.parse_args_and_config(args))
    names = {"video_git": "VideoGitForCausalLM", "ofa": "OFAForConditionalGeneration", "qwen2_vl": "VideoCaptioningQwen2VLForConditionalGeneration", "qwen2_5_vl": "VideoCaptioningQwen2_5_VLForConditionalGeneration", "llava_onevision": "VideoCaptioningLlavaOnevisionForConditionalGeneration", "llava_next_video": "VideoCaptioningLlavaNextVideoForConditionalGeneration", "qwen3_vl": "VideoCaptioningQwen3VLForConditionalGeneration", "smolvlm": "VideoCaptioningSmolVLMForConditionalGeneration", "instructblipvideo": "VideoCaptioningInstructBlipVideoForConditionalGeneration"}
    assert type(trainer.model.get_base_model()).__name__ == names[model_type]
    # LoRA went on the architecture's default targets (the language model's attention q / v projections).
    lora = [name for name, _ in trainer.model.named_parameters() if "lora_A" in name]
    assert lora and all(("query" in n or "value" in n) if model_type == "video_git" else ("q_proj" in n or "v_proj" in n) for n in lora)
    assert "| final (step 2) | test |" in capsys.readouterr().out


def test_a_model_setting_the_checkpoint_lacks_is_named(tmp_path):
    from hf_vidcap.models import save_tiny_checkpoint

    save_tiny_checkpoint("video_git", tmp_path / "tiny", num_frames=8)
    recipe = _load_recipe("blip2_msrvtt_scst")
    demo = Path(__file__).parents[1] / "recipes" / "configs" / "blip2" / "shapes_tiny_scst.yaml"
    config = tmp_path / "config.yaml"  # a YAML mapping (the command line takes no dicts)
    config.write_text(demo.read_text() + "model_config_overrides:\n  use_temporal_embedding: true\n")
    parser = TrlParser((VideoScriptArguments, VideoSCSTConfig, ModelConfig))
    args = parser.parse_args_and_config([
        "--config", str(config), "--model_name_or_path", str(tmp_path / "tiny"), "--shapes_dir", str(tmp_path / "shapes"),
        "--shapes_num_train", "4", "--shapes_num_validation", "2", "--shapes_num_test", "2", "--output_dir", str(tmp_path / "out"),
    ])
    assert args[0].model_config_overrides == {"use_temporal_embedding": True}
    with pytest.raises(ValueError, match=r"VideoGitConfig .* has no field \['use_temporal_embedding'\]"):
        recipe.main(*args)


def test_regen_paper_config_has_the_paper_settings():
    path = Path(__file__).parents[1] / "recipes" / "configs" / "git" / "kinetics400_regen.yaml"
    parser = TrlParser((_script_arguments(path), VideoSCSTConfig, ModelConfig))
    script_args, training_args, model_args = parser.parse_args_and_config(["--config", str(path), *CPU])
    assert (training_args.learning_rate, training_args.weight_decay, training_args.per_device_train_batch_size) == (1e-7, 1e-3, 8)
    assert training_args.num_train_epochs == 10 and training_args.reward_weights == [1.0, 5.0, 0.2]
    assert (training_args.rollout, training_args.baseline, training_args.num_generations) == ("beam", "beam_vs_greedy", 1)
    assert script_args.reward_funcs == ["cls_r", "clip_r", "grammar_mlm"] and script_args.model_config_overrides == {"frame_fusion": "mean"}
    assert script_args.eval_datasets == ["hmdb51", "ucf101", "kinetics220"] and script_args.kinetics220_split == "test_generalized"


def test_regen_shapes_recipe_trains_and_evaluates_zero_shot(tmp_path, capsys):
    from hf_vidcap.data.shapes import BASE_ACTIONS, NOVEL_ACTIONS
    from hf_vidcap.encoders.shapes_standins import train_shapes_clip, train_shapes_mlm
    from hf_vidcap.models import save_tiny_checkpoint

    world = str(tmp_path / "pretraining")
    train_shapes_clip(tmp_path / "clip", world_dir=world, num_clips=8, steps=2, batch_size=4, num_validation=8)
    train_shapes_mlm(tmp_path / "mlm", world_dir=world, num_clips=8, steps=2, num_validation=8)
    save_tiny_checkpoint("video_git", tmp_path / "git", num_frames=4)
    config = Path(__file__).parents[1] / "recipes" / "configs" / "git" / "shapes_regen.yaml"
    text = config.read_text().replace("outputs/shapes_clip", str(tmp_path / "clip")).replace("outputs/shapes_mlm", str(tmp_path / "mlm"))
    (tmp_path / "regen.yaml").write_text(text)
    recipe = _load_recipe("git_kinetics_regen")
    parser = TrlParser((recipe.RegenScriptArguments, VideoSCSTConfig, ModelConfig))
    args = parser.parse_args_and_config([
        "--config", str(tmp_path / "regen.yaml"), "--model_name_or_path", str(tmp_path / "git"), "--num_frames", "4",
        "--shapes_dir", str(tmp_path / "shapes"), "--shapes_num_train", "24", "--shapes_num_validation", "2",
        "--shapes_num_test", "16", "--max_steps", "2", "--xe_warmup_steps", "1", "--per_device_train_batch_size", "4",
        "--output_dir", str(tmp_path / "out"), "--disable_tqdm", "true",
    ])
    pretraining = []
    original = recipe._pretrain_captioner

    def spy(model, processor, rewards, training_args, captions_split):
        pretraining.append(set(captions_split["action"]))
        return original(model, processor, rewards, training_args, captions_split)

    recipe._pretrain_captioner = spy
    trainer, results = recipe.main(*args)
    # 1 step of captioning XE on every clip (novel actions' captions too), then 1 RL step on the base clips only.
    assert len(pretraining) == 1 and set(NOVEL_ACTIONS) <= pretraining[0]
    assert trainer.state.global_step == 1 and trainer.reward_names == ["cls_r", "clip_r", "grammar_mlm"]
    assert trainer.args.xe_warmup_steps == 0 and set(trainer.train_dataset["action"]) <= set(BASE_ACTIONS)
    # CLS-R's softmax runs over the base actions only: no novel class name reaches training.
    assert trainer.reward_funcs[0].classifier.class_names == ["moving left", "moving up", "growing", "rotating", "bouncing"]
    shapes = results["shapes"]
    assert 0 <= shapes["test_shapes_zsl_top1_accuracy"] <= 100 and "test_shapes_gzsl_harmonic_mean" in shapes
    assert "test_shapes_cider_d" in shapes  # the shapes test clips have captions: caption quality too
    assert "| shapes |" in capsys.readouterr().out
    import json

    stored = json.loads((tmp_path / "out" / "zero_shot_results.json").read_text())
    assert stored["shapes/test_shapes_zsl_top1_accuracy"] == shapes["test_shapes_zsl_top1_accuracy"]


WTF_VARIANTS = {  # config: (policy_weight, teacher_forcing_weight, first reward, bidirectional, baseline)
    "coco_wtf.yaml": (1.0, 1.0, "contrastive", True, "none"),
    "coco_wtf_only.yaml": (0.0, 1.0, "contrastive", True, "none"),
    "coco_rl.yaml": (1.0, 0.0, "contrastive", True, "none"),
    "coco_rl_unidirectional.yaml": (1.0, 0.0, "contrastive", False, "none"),
    "coco_scst_discriminator.yaml": (1.0, 0.0, "clip_score", None, "beam_vs_greedy"),
}


@pytest.mark.parametrize("name", sorted(WTF_VARIANTS))
def test_wtf_paper_configs_have_the_paper_settings(name):
    path = Path(__file__).parents[1] / "recipes" / "configs" / "ofa" / name
    parser = TrlParser((_script_arguments(path), VideoSCSTConfig, ModelConfig))
    script_args, training_args, model_args = parser.parse_args_and_config(["--config", str(path), *CPU])
    # Sec. 4.1: OFA-tiny teacher-forced for 2 epochs, then 5 epochs at lr 1e-6, alpha 0.94, batches of 20 pairs.
    assert model_args.model_name_or_path == "OFA-Sys/ofa-tiny" and script_args.teacher_forcing_epochs == 2
    assert (training_args.learning_rate, training_args.num_train_epochs, training_args.per_device_train_batch_size) == (1e-6, 5, 20)
    assert training_args.reward_weights == [0.94, 0.06] and script_args.reward_funcs[1] == "discriminator"
    assert (training_args.rollout, training_args.num_generations, training_args.xe_captions_per_video) == ("beam", 1, 1)
    assert script_args.dataset_name == "coco" and training_args.num_frames == 1
    policy, wtf, first, bidirectional, baseline = WTF_VARIANTS[name]
    assert (training_args.policy_weight, training_args.teacher_forcing_weight, training_args.baseline) == (policy, wtf, baseline)
    assert script_args.reward_funcs[0] == first
    if bidirectional is not None:
        assert script_args.reward_kwargs["contrastive"]["bidirectional"] is bidirectional
    assert "#   WTF-RL               33.82" in path.read_text()  # Table 1 quoted in every variant's header


def test_wtf_shapes_recipe_teacher_forces_pretrains_the_discriminator_trains_and_evaluates(tmp_path, capsys):
    from hf_vidcap.encoders.shapes_standins import train_shapes_clip
    from hf_vidcap.models import save_tiny_checkpoint

    train_shapes_clip(tmp_path / "clip", world_dir=str(tmp_path / "pretraining"), num_clips=8, steps=2, batch_size=4, num_validation=8)
    save_tiny_checkpoint("ofa", tmp_path / "ofa", num_frames=2, frame_differences="append")
    config = Path(__file__).parents[1] / "recipes" / "configs" / "ofa" / "shapes_wtf.yaml"
    (tmp_path / "wtf.yaml").write_text(config.read_text().replace("outputs/shapes_clip", str(tmp_path / "clip")))
    recipe = _load_recipe("ofa_coco_wtf")
    parser = TrlParser((recipe.WTFScriptArguments, VideoSCSTConfig, ModelConfig))
    args = parser.parse_args_and_config([
        "--config", str(tmp_path / "wtf.yaml"), "--model_name_or_path", str(tmp_path / "ofa"), "--num_frames", "2",
        "--shapes_dir", str(tmp_path / "shapes"), "--shapes_num_train", "16", "--shapes_num_validation", "2",
        "--shapes_num_test", "12", "--max_steps", "2", "--teacher_forcing_epochs", "0.25", "--per_device_train_batch_size", "4",
        "--discriminator_pretraining_videos", "4", "--discriminator_pretraining_epochs", "1",
        "--output_dir", str(tmp_path / "out"), "--disable_tqdm", "true",
    ])
    trainer, results = recipe.main(*args)
    out = capsys.readouterr().out
    assert (tmp_path / "out" / "teacher_forced" / "model.safetensors").exists()  # the TF checkpoint (ceil(0.25 * 16+ / 4) steps)
    assert "discriminator pre-trained on" in out and "balanced accuracy" in out
    assert trainer.state.global_step == 2 and trainer.reward_names == ["contrastive", "discriminator"]
    assert trainer.reward_funcs[0].bank is not None and len(trainer.reward_funcs[0].bank.video_ids) == len(trainer.train_dataset)
    for key in ("t2v_recall@1", "v2t_recall@10", "bleu_4", "rouge_l", "cider_d", "meteor", "self_bleu_4", "distinct_twin_pairs"):
        assert key in results, key
    assert "| T2V R@1 |" in out and "twins distinct %" in out
    assert (tmp_path / "out" / "test_results.json").exists()


def _claster_parser():
    from hf_vidcap.trainer import ClasterTrainingConfig

    return TrlParser((_load_recipe("claster_ucf101").ClasterScriptArguments, ClasterTrainingConfig))


@pytest.mark.parametrize("path", CLASTER_CONFIGS, ids=[p.name for p in CLASTER_CONFIGS])
def test_claster_configs_parse_with_the_papers_settings(path):
    script_args, training_args = _claster_parser().parse_args_and_config(["--config", str(path), *CPU])
    assert script_args.num_clusters == 6 and training_args.learning_rate == 1e-4
    assert training_args.centroid_learning_rates == [0.1, 0.01, 0.001] and script_args.ablation == "claster"
    if path.name != "shapes.yaml":  # Sec. 4: 10,000 RL iterations, alpha changes after 1,000 and 2,000; 10 draws
        assert training_args.max_steps == 10_000 and training_args.centroid_milestones == [1000, 2000]
        assert script_args.zero_shot_draws == list(range(10))
        text = path.read_text()
        assert "CLASTER w/o RL" in text and "Table 2" in text  # the paper's numbers quoted in the header


def test_claster_shapes_recipe_runs_each_ablation_row_and_reports_the_protocol(tmp_path, capsys):
    from hf_vidcap.data import generate_shapes_action_dataset
    from hf_vidcap.encoders import save_tiny_video_encoder

    generate_shapes_action_dataset(tmp_path / "clips", clips_per_class=3, num_frames=4, image_size=32)
    save_tiny_video_encoder(tmp_path / "encoder", image_size=32, num_frames=4, hidden_size=16)
    recipe = _load_recipe("claster_ucf101")
    config = Path(__file__).parents[1] / "recipes" / "configs" / "claster" / "shapes.yaml"
    common = [
        "--config", str(config), "--data_dir", str(tmp_path / "clips"), "--shapes_clips_per_class", "3", "--video_encoder",
        str(tmp_path / "encoder"), "--video_num_frames", "4", "--finetune_video_encoder_steps", "2", "--hidden_size", "16",
        "--max_steps", "3", "--projection_steps", "2", "--per_device_train_batch_size", "8", "--zero_shot_draws", "0", "1",
    ]
    for ablation, update in (("claster", "reinforce"), ("without_rl", "sgd"), ("no_clustering", "frozen")):
        out = tmp_path / ablation
        runs, summary = recipe.main(*_claster_parser().parse_args_and_config([*common, "--ablation", ablation, "--output_dir", str(out)]))
        assert [r["draw"] for r in runs] == [0, 1]
        assert {"zsl_accuracy", "gzsl_harmonic_mean"} <= set(summary) and 0 <= summary["zsl_accuracy"]["mean"] <= 100
        assert ("purity_after" in summary) == (ablation != "no_clustering")
        assert (out / "claster_results.json").exists() and (out / "draw1" / "model.safetensors").exists()
        assert (out / "draw0" / "video_encoder" / "config.json").exists()  # fine-tuned on draw 0's seen classes
        assert runs[0]["centroid_update"] == update
        assert json.loads((out / "draw0" / "config.json").read_text())["clustering"] == ("none" if ablation == "no_clustering" else "kmeans")
    printed = capsys.readouterr().out
    assert "| claster | zsl_accuracy" in printed and "video encoder fine-tuned on 16 seen classes" in printed
    with pytest.raises(ValueError, match="ablation 'wo_rl' is unknown"):
        _claster_parser().parse_args_and_config([*common, "--ablation", "wo_rl", "--output_dir", str(tmp_path / "x")])

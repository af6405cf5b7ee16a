"""The ``hf-vidcap`` command line, in-process: tiny-model -> shapes -> caption -> evaluate (the same CIDEr-D as
`evaluate_captioner`), the train command line, help texts with defaults, and clear errors."""

import csv
import json

import pytest

from hf_vidcap.cli import RECIPES_DIR, main


@pytest.fixture(scope="module")
def world_and_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    main(["tiny-model", "video_git", str(root / "model"), "--num_frames", "4"])
    main(["shapes", str(root / "world"), "--num_train", "2", "--num_validation", "1", "--num_test", "3", "--num_frames", "4"])
    return root / "world", root / "model"


def test_caption_a_folder_to_jsonl_csv_and_stdout(world_and_model, tmp_path, capsys):
    world, model = world_and_model
    common = ["--model", str(model), "--num_frames", "4", "--max_new_tokens", "5"]
    main(["caption", str(world / "test"), *common, "--output", str(tmp_path / "c.jsonl")])
    rows = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert [r["video"] for r in rows] == sorted(str(p) for p in (world / "test").glob("*.mp4")) and len(rows) == 3
    main(["caption", str(world / "test"), *common, "--output", str(tmp_path / "c.csv"), "--batch_size", "2"])
    with open(tmp_path / "c.csv") as f:
        assert list(csv.DictReader(f)) == rows  # batched, as CSV: the same captions
    capsys.readouterr()
    main(["caption", rows[0]["video"], *common, "--num_beams", "2", "--num_return_sequences", "2"])
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == 2 and {p["video"] for p in printed} == {rows[0]["video"]}


def test_evaluate_prints_what_evaluate_captioner_computes(world_and_model, tmp_path, capsys):
    from hf_vidcap import evaluate_captioner
    from hf_vidcap.data import load_shapes_dataset
    from hf_vidcap.models import AutoModelForVideoCaptioning, AutoVideoCaptionProcessor

    world, model = world_and_model
    main(["evaluate", "--model", str(model), "--dataset", "shapes", "--data_dir", str(world), "--max_new_tokens", "5", "--quiet", "--output", str(tmp_path / "r.json")])
    printed = capsys.readouterr().out
    expected, captions = evaluate_captioner(
        AutoModelForVideoCaptioning.from_pretrained(model), AutoVideoCaptionProcessor.from_pretrained(model),
        load_shapes_dataset(world)["test"], max_new_tokens=5, show_progress=False,
    )
    assert f"| cider_d | {expected['cider_d']:.4f} |" in printed and "| metric | shapes test (3 videos) |" in printed
    stored = json.loads((tmp_path / "r.json").read_text())
    assert stored["metrics"] == pytest.approx(expected) and stored["captions"] == captions


def test_train_runs_the_configs_recipe_through_accelerate(capsys):
    config = str(RECIPES_DIR / "configs" / "blip2" / "shapes_tiny_scst.yaml")
    main(["train", config, "--print_only", "--max_steps", "2"])
    command = capsys.readouterr().err.split()
    assert command[1:4] == ["-m", "accelerate.commands.launch", "--config_file"]
    assert command[5:] == [str(RECIPES_DIR / "blip2_msrvtt_scst.py"), "--config", config, "--max_steps", "2"]


def test_help_lists_defaults_and_errors_name_the_fix(tmp_path, capsys):
    for command, expected in (("caption", "(default: 20)"), ("evaluate", "(default: test)"), ("shapes", "(default: 800)"), ("tiny-model", "(default: 8)")):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code in (0, None) and expected in " ".join(capsys.readouterr().out.split()), command
    with pytest.raises(SystemExit, match="does not exist"):
        main(["caption", str(tmp_path / "missing.mp4"), "--model", "x"])
    with pytest.raises(SystemExit, match="no video files"):
        main(["caption", str(tmp_path), "--model", "x"])
    with pytest.raises(SystemExit, match="needs --data_dir"):
        main(["evaluate", "--model", "x", "--dataset", "shapes"])
    (tmp_path / "mine.yaml").write_text("max_steps: 1\n")
    with pytest.raises(SystemExit, match="pass --recipe"):
        main(["train", str(tmp_path / "mine.yaml")])
    with pytest.raises(SystemExit, match="unrecognized arguments: --bogus"):
        main(["shapes", str(tmp_path / "w"), "--bogus"])


def test_the_readmes_commands_parse():
    """Each `hf-vidcap` line of the README's command-line block is a valid command (what each does is tested above)."""
    import re
    import shlex
    from pathlib import Path

    from hf_vidcap.cli import build_parser
    from hf_vidcap.models.tiny_checkpoints import TINY_MODEL_TYPES

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"The same from the command line.*?```bash\n(.*?)```", readme, flags=re.S).group(1)
    lines = [shlex.split(line.split("#")[0].replace("<you>", "you")) for line in block.splitlines() if line.strip()]
    assert [line[1] for line in lines] == ["caption", "evaluate", "train", "push", "shapes", "tiny-model"]
    for line in lines:
        if line[1] == "tiny-model":
            assert line[2] in TINY_MODEL_TYPES
            continue
        args, extra = build_parser().parse_known_args(line[1:])
        assert not extra or args.command == "train", line

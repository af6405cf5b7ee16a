"""The README's extension snippets run as written."""

import re
from pathlib import Path

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text()
SECTION = README[README.index("### Extending: a baseline, a rollout strategy, a model, a reward") :]
SECTION = SECTION[: SECTION.index("\n### ", 4)]
SNIPPETS = re.findall(r"```python\n(.*?)```", SECTION, flags=re.S)


def test_the_section_has_its_four_snippets():
    assert len(SNIPPETS) == 4
    assert all(len(snippet.splitlines()) < 30 for snippet in SNIPPETS)  # each addition is under 30 lines


@pytest.mark.parametrize("index", range(4), ids=["baseline", "rollout", "model", "reward"])
def test_snippet_runs(index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the configs name output directories under outputs/
    namespace = {"__name__": f"readme_snippet_{index}"}
    exec(compile(SNIPPETS[index], f"README snippet {index}", "exec"), namespace)
    if index == 2:
        return  # check_video_captioner raised nothing
    assert namespace["args"].output_dir.startswith("outputs/")
    if index == 3:
        assert capsys.readouterr().out.strip() == "[-2.0, -1.0]"


def _commands(text: str) -> list[str]:
    """Shell commands with line continuations joined and whitespace collapsed."""
    return [" ".join(line.split()) for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_demo_commands_are_the_makefiles():
    block = re.search(r"`make demo` runs\n\n```bash\n(.*?)```", README, flags=re.S).group(1)
    makefile = (Path(__file__).parents[1] / "Makefile").read_text()
    recipe = re.search(r"\ndemo: \$\(STAMP\)\n((?:\t.*\n)+)", makefile).group(1)
    assert _commands(block) == _commands(recipe.replace("$(VENV)/bin/", "").replace("\t", ""))


def test_the_caption_a_video_snippet_runs(tmp_path, monkeypatch, capsys):
    """The snippet at the top, with the files `make demo` leaves: a checkpoint at outputs/shapes_tiny_scst (a tiny
    random one here) and the shapes world under data/shapes."""
    from hf_vidcap.data import ShapesWorldConfig, generate_shapes_dataset
    from hf_vidcap.models import save_tiny_checkpoint

    snippet = re.search(r"## Caption a video\n\n```python\n(.*?)```", README, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    save_tiny_checkpoint("video_blip2", "outputs/shapes_tiny_scst", num_frames=8, frame_differences="append")
    generate_shapes_dataset("data/shapes", ShapesWorldConfig(num_train=1, num_validation=1, num_test=1))
    exec(compile(snippet, "README caption snippet", "exec"), {"__name__": "readme_caption"})
    printed = capsys.readouterr().out.strip().splitlines()[-1]  # (DeepSpeed may log a line first)
    assert printed.startswith("[{'generated_text': '") and printed.endswith("'}]")


def test_the_bring_your_own_vlm_snippet_runs(tmp_path, monkeypatch, shapes_dir):
    """The VLM snippet with a tiny random Qwen2.5-VL written where the Hub id points (offline), a CIDEr-D reward and
    the shapes world as the training set; the trainer it builds then trains two steps."""
    from hf_vidcap.data import load_shapes_dataset
    from hf_vidcap.models import save_tiny_checkpoint
    from hf_vidcap.rewards import get_cider_d_reward

    snippet = re.search(r"### Bring your own video VLM.*?```python\n(.*?)```", README, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    save_tiny_checkpoint("qwen2_5_vl", "Qwen/Qwen2.5-VL-7B-Instruct", num_frames=4, image_size=56)
    train = load_shapes_dataset(shapes_dir)["train"].select(range(4))
    namespace = {"__name__": "readme_vlm", "reward": get_cider_d_reward(train["captions"]), "train_dataset": train}
    snippet = snippet.replace("bf16=True", "use_cpu=True, max_steps=2, per_device_train_batch_size=2, num_generations=2, max_completion_length=4, report_to='none'")
    snippet = snippet.replace('dtype="bfloat16"', 'dtype="float32"').replace("num_frames=16", "num_frames=4")  # the shapes clips have 8 frames
    snippet = snippet.replace("processor = VideoVLMProcessor(", "processor = VideoVLMProcessor(image_size=56, processor=")
    exec(compile(snippet, "README VLM snippet", "exec"), namespace)
    trainer = namespace["trainer"]
    assert type(trainer.model.get_base_model()).__name__ == "VideoCaptioningQwen2_5_VLForConditionalGeneration"
    trainer.train()
    assert trainer.state.global_step == 2

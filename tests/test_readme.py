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

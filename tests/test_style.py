"""The lint rules of pyproject.toml's [tool.ruff] are part of the test command."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_passes_on_the_repository():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_public_api_imports_from_the_top_level():
    import hf_vidcap

    for name in hf_vidcap.__all__:
        assert getattr(hf_vidcap, name) is not None, name
    from hf_vidcap import OFAForConditionalGeneration, VideoSCSTConfig, VideoSCSTTrainer  # noqa: F401

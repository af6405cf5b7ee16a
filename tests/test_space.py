"""The demo Space (spaces/captioner): `CaptionDemo` against the pipeline and the rewards it wraps, its settings from
the environment, the Space's layout, and the page itself in headless Chromium (upload a shapes clip, click, read
the caption back, screenshot)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from transformers import pipeline

from hf_vidcap.data import decode_video
from hf_vidcap.demo import CaptionDemo, DemoOutput, demo_from_environment
from hf_vidcap.models import save_tiny_checkpoint
from hf_vidcap.rewards import get_bleu_reward, get_diversity_reward

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "spaces" / "captioner"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
APT_LINE = "apt-get install -y chromium chromium-driver"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("space_model")
    save_tiny_checkpoint("video_blip2", path, num_frames=4, frame_differences="append")
    return str(path)


def test_demo_output_is_the_pipeline_and_the_rewards(checkpoint, shapes_dataset):
    demo = CaptionDemo(checkpoint, reference_dataset=shapes_dataset["train"], max_new_tokens=8)
    assert sorted(demo.rewards) == ["bleu", "cider_d", "diversity"] and demo.num_frames == 4
    row = shapes_dataset["test"][0]
    out = demo(
        row["video"]["path"], reward="bleu", references="\n".join(row["captions"]) + "\n\n", num_samples=4, seed=1
    )
    frames = decode_video(row["video"]["path"], 4)
    assert out.frames.shape == frames.shape and np.array_equal(out.frames, frames)  # what the model saw
    captioner = pipeline("video-captioning", model=checkpoint)
    assert out.greedy == captioner(frames, max_new_tokens=8)[0]["generated_text"]
    assert len(out.samples) == 4 and out.reward == "bleu"
    # The rewards are the library's, on the typed references (blank lines dropped).
    expected = get_bleu_reward()(completions=out.samples, captions=[row["captions"]] * 4)
    assert out.rewards == pytest.approx(expected)
    assert [r[1] for r in out.table()] == sorted(round(v, 4) for v in expected)[::-1]  # best first
    shown = DemoOutput(frames=out.frames, greedy="", samples=["a red circle", ""], rewards=[0.5, 0.0], reward="bleu")
    assert shown.table() == [["a red circle", 0.5], ["(empty caption)", 0.0]]  # an empty sample is named, not blank
    again = demo(
        frames, reward="diversity", num_samples=4, seed=1
    )  # decoded frames in; the same seed, the same samples
    assert again.samples == out.samples and again.greedy == out.greedy
    assert again.rewards == pytest.approx(get_diversity_reward()(completions=out.samples, group_ids=[0] * 4))
    cider = demo(frames, reward="cider_d", references=row["captions"], num_samples=2)
    assert all(v is not None and v >= 0 for v in cider.rewards)


def test_demo_bad_input_names_the_problem(checkpoint, tmp_path):
    demo = CaptionDemo(checkpoint, max_new_tokens=4)
    assert sorted(demo.rewards) == ["bleu", "diversity"]  # CIDEr-D only with a reference dataset
    frames = np.zeros((6, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="reward 'cider_d' is not offered"):
        demo(frames, reward="cider_d", references=["a red circle"])
    with pytest.raises(ValueError, match="type at least one"):
        demo(frames, reward="bleu", references="\n  \n")
    with pytest.raises(ValueError, match="num_samples must be between 1 and 32"):
        demo(frames, reward="diversity", num_samples=0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        demo(frames, reward="diversity", temperature=0)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\) array"):
        demo(np.zeros((6, 32, 32), dtype=np.uint8), reward="diversity")
    with pytest.raises(ValueError, match="needs reference_dataset"):
        CaptionDemo(checkpoint, rewards=["cider_d"])
    with pytest.raises(ValueError, match="cannot score one video"):
        CaptionDemo(checkpoint, rewards=["contrastive"])
    with pytest.raises(ValueError, match="set HF_VIDCAP_MODEL"):
        demo_from_environment({}, root=tmp_path)
    with pytest.raises(FileNotFoundError, match="HF_VIDCAP_REFERENCES='nowhere'"):
        demo_from_environment({"HF_VIDCAP_MODEL": checkpoint, "HF_VIDCAP_REFERENCES": "nowhere"}, root=tmp_path)


def test_space_layout_and_settings(checkpoint, shapes_dir, tmp_path):
    header = (SPACE / "README.md").read_text().split("---")[1]
    metadata = dict(line.split(": ", 1) for line in header.strip().splitlines())
    assert metadata["sdk"] == "gradio" and metadata["app_file"] == "app.py" and (SPACE / "app.py").exists()
    locked = dict(
        line.split("==") for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines() if "==" in line
    )
    assert metadata["sdk_version"] == locked["gradio"]  # the Space runs the Gradio the browser test ran in CI
    assert "hf-vidcap[space]" in (SPACE / "requirements.txt").read_text()
    examples = tmp_path / "examples"
    examples.mkdir()
    shutil.copy(next((Path(shapes_dir) / "test").rglob("*.mp4")), examples / "clip.mp4")
    demo, found = demo_from_environment(
        {
            "HF_VIDCAP_MODEL": checkpoint,
            "HF_VIDCAP_REFERENCES": str(shapes_dir),
            "HF_VIDCAP_EXAMPLES": str(examples),
            "HF_VIDCAP_NUM_FRAMES": "3",
        }
    )
    assert "cider_d" in demo.rewards and found == [str(examples / "clip.mp4")] and demo.num_frames == 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason=f"needs Debian's chromium and chromium-driver ({APT_LINE}); `make test` installs them when it can",
)
def test_space_in_a_real_browser(checkpoint, shapes_dataset, tmp_path):
    selenium = pytest.importorskip("selenium")  # noqa: F841
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    row = shapes_dataset["test"][0]
    port = _free_port()
    env = dict(
        os.environ,
        HF_VIDCAP_MODEL=checkpoint,
        HF_VIDCAP_MAX_NEW_TOKENS="8",
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
    )
    log = open(tmp_path / "app.log", "w")
    server = subprocess.Popen([sys.executable, str(SPACE / "app.py")], env=env, stdout=log, stderr=subprocess.STDOUT)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1500"):
        options.add_argument(flag)
    driver = None
    try:
        deadline = time.time() + 120
        while True:  # the app is up when its port answers
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, (tmp_path / "app.log").read_text()
            assert time.time() < deadline, "the Space did not start in 120 s: " + (tmp_path / "app.log").read_text()
            time.sleep(0.5)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(driver, 120)
        upload = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#video input[type=file]")))
        upload.send_keys(row["video"]["path"])
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#video video")))  # uploaded and shown
        driver.find_element(By.CSS_SELECTOR, "#references textarea").send_keys("\n".join(row["captions"]))
        driver.find_element(By.ID, "caption_button").click()
        greedy = driver.find_element(By.CSS_SELECTOR, "#greedy_caption textarea")
        wait.until(lambda d: greedy.get_attribute("value"))
        caption = greedy.get_attribute("value")
        wait.until(ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#frames img")))
        frames_shown = len(driver.find_elements(By.CSS_SELECTOR, "#frames img"))
        table = driver.find_element(By.ID, "samples").text
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(tmp_path / "space.png"))
        print(
            f"caption read from the page: {caption!r}; frames shown: {frames_shown}; screenshot: {tmp_path / 'space.png'}"
        )
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(timeout=30)
        log.close()
    # The page shows what the library computes for the same video.
    expected = CaptionDemo(checkpoint, max_new_tokens=8)(
        row["video"]["path"], reward="bleu", references=row["captions"], num_samples=5
    )
    assert caption == expected.greedy
    assert frames_shown == 4 and all(sample in table for sample in expected.samples if sample)
    assert (tmp_path / "space.png").stat().st_size > 10_000

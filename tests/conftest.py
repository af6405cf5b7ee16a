import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

from hf_vidcap.data import ShapesWorldConfig, build_shapes_tokenizer, generate_shapes_dataset, load_shapes_dataset  # noqa: E402

TINY_WORLD = ShapesWorldConfig(num_train=24, num_validation=8, num_test=8, seed=3)


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory):
    return generate_shapes_dataset(tmp_path_factory.mktemp("shapes"), TINY_WORLD)


@pytest.fixture(scope="session")
def shapes_dataset(shapes_dir):
    return load_shapes_dataset(shapes_dir)


@pytest.fixture(scope="session")
def tokenizer():
    return build_shapes_tokenizer()

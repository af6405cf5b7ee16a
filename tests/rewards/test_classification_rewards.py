import math

import datasets
import pytest

from hf_vidcap.rewards import get_class_reward


@pytest.fixture
def embedder(lookup_embedder):
    # Two classes at right angles; a caption at cosine 0.6 with "left" and 0.8 with "grow".
    texts = {"left": [1.0, 0.0], "grow": [0.0, 1.0], "caption": [0.6, 0.8], "a video of left": [1.0, 0.0], "a video of grow": [0.0, 1.0]}
    return lookup_embedder(texts, videos=[[1.0, 0.0]])


def test_cls_r_hand_computed(embedder):
    reward = get_class_reward(embedder, ["left", "grow"], temperature=0.1)
    # logits cos / tau = 6 and 8: log p(left) = 6 - log(e^6 + e^8) = -2.126928; log p(grow) = -0.126928.
    values = reward(["caption", "caption"], label=[0, "grow"])
    assert values == pytest.approx([6 - math.log(math.exp(6) + math.exp(8)), 8 - math.log(math.exp(6) + math.exp(8))])
    assert reward.classifier.predict(["caption"]) == [1]


def test_class_names_from_a_classlabel_feature_and_prompt(embedder):
    feature = datasets.ClassLabel(names=["left", "grow"])
    reward = get_class_reward(embedder, feature, prompt="a video of {}", temperature=0.1)
    assert reward.classifier.class_names == ["left", "grow"]
    assert reward(["caption"], label=[1])[0] == pytest.approx(8 - math.log(math.exp(6) + math.exp(8)))


def test_bad_labels_and_class_lists(embedder):
    reward = get_class_reward(embedder, ["left", "grow"])
    with pytest.raises(ValueError, match="class name 'spin' is not one of the 2 classes \\['left', 'grow'\\]"):
        reward(["caption"], label=["spin"])
    with pytest.raises(ValueError, match="label 5 is not a class index in \\[0, 2\\)"):
        reward(["caption"], label=[5])
    with pytest.raises(ValueError, match="needs the column 'label'"):
        reward(["caption"])
    with pytest.raises(ValueError, match="at least two"):
        get_class_reward(embedder, ["left"])
    with pytest.raises(ValueError, match="duplicates"):
        get_class_reward(embedder, ["left", "left"])
    with pytest.raises(ValueError, match="temperature"):
        get_class_reward(embedder, ["left", "grow"], temperature=0)

import json

import numpy as np
import pytest
import torch
from helpers import CLASSES, seed_model_file
from safetensors.torch import save_file

from model.images.preprocess import STAINED_CELL, InputPolicy
from model.images.symmetry import NONE, QUARTER_TURNS
from model.modelfile.ensemble import EnsembleError, combine
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import ModelFileError, load, read_info, save


def network_file(path, seed: int, policy: InputPolicy, views: str = NONE, classes=CLASSES):
    torch.manual_seed(seed)
    return seed_model_file(path, classes=classes, policy=policy, test_time_views=views, name=path.stem)


@pytest.fixture
def two_networks(tmp_path):
    cell = network_file(tmp_path / "cell.safetensors", 1, InputPolicy(48, 48, framing=STAINED_CELL), QUARTER_TURNS)
    whole = network_file(tmp_path / "whole.safetensors", 2, InputPolicy(64, 48))
    return cell, whole


def test_an_ensemble_averages_its_networks_each_seeing_the_image_its_own_way(two_networks, real_test_subset, tmp_path):
    files = sorted(real_test_subset.rglob("*.jpeg"))[:12]
    alone = [np.array([r.probabilities for r in open_classifier(p, "cpu").classify(files)]) for p in two_networks]
    assert not np.allclose(alone[0], alone[1], atol=1e-3)

    combined = combine(two_networks, name="both")
    path = save(tmp_path / "both.safetensors", combined.module, combined.info)
    classifier = open_classifier(path, "cpu")
    assert classifier.policies == [InputPolicy(48, 48, framing=STAINED_CELL), InputPolicy(64, 48)]
    together = np.array([r.probabilities for r in classifier.classify(files, batch_size=5)])
    assert np.allclose(together, (alone[0] + alone[1]) / 2, atol=1e-5)

    info = read_info(path)
    assert info.is_ensemble and [m.name for m in info.members] == ["cell", "whole"]
    assert [m.test_time_views for m in info.members] == [QUARTER_TURNS, NONE]


def test_an_ensemble_still_reports_bad_files(two_networks, bad_corpus):
    combined = combine(two_networks, name="both")
    folder = next(iter(bad_corpus.values()))[0].parent
    results = {r.path.name: r for r in open_classifier(combined, "cpu").classify([folder], batch_size=4)}
    for name, (_, should_load) in bad_corpus.items():
        assert results[name].ok == should_load, (name, results[name].error)


def test_combining_refuses_what_cannot_be_averaged(two_networks, tmp_path):
    with pytest.raises(EnsembleError, match="at least two"):
        combine(two_networks[:1], name="one")
    other = network_file(tmp_path / "other.safetensors", 3, InputPolicy(64, 48), classes=["A", "B"])
    with pytest.raises(EnsembleError, match="classes"):
        combine([two_networks[0], other], name="mixed")
    combined = combine(two_networks, name="both")
    nested = save(tmp_path / "both.safetensors", combined.module, combined.info)
    with pytest.raises(EnsembleError, match="ensemble already"):
        combine([nested, two_networks[0]], name="nested")


def test_an_ensemble_file_says_it_needs_a_newer_app_and_a_broken_one_is_refused(two_networks, tmp_path):
    combined = combine(two_networks, name="both")
    document = combined.info.to_json()
    assert document["format_version"] == 2 and load(two_networks[0]).info.to_json()["format_version"] == 1
    lonely = tmp_path / "lonely.safetensors"
    broken = document | {"members": document["members"][:1]}
    save_file(combined.module.state_dict(), lonely, metadata={"bloodcell": json.dumps(broken)})
    with pytest.raises(ModelFileError, match="2 to 8 member networks"):
        read_info(lonely)

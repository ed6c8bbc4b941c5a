import tracemalloc

import numpy as np
import pytest
import torch
from helpers import CLASSES

from model.images.preprocess import InputPolicy
from model.inference.backends.torch_backend import fold_batch_norms
from model.inference.classifier import Classifier
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import LoadedModel, ModelInfo
from model.networks.build import build_model


def random_classifier() -> Classifier:
    torch.manual_seed(0)
    module = build_model("seed", len(CLASSES))
    info = ModelInfo(arch="seed", classes=CLASSES, policy=InputPolicy(80, 60))
    return open_classifier(LoadedModel(module, info, path=None), device="cpu")


def test_mixed_folder_classifies_every_good_file_and_reports_every_bad_one(bad_corpus):
    folder = next(iter(bad_corpus.values()))[0].parent
    results = {r.path.name: r for r in random_classifier().classify([folder], batch_size=4)}
    # the dangling link has an image name, so it is listed and reported
    assert set(results) == set(bad_corpus)
    for name, (_, should_load) in bad_corpus.items():
        result = results[name]
        assert result.ok == should_load, (name, result.error)
        if result.ok:
            assert len(result.probabilities) == len(CLASSES)
            assert abs(sum(result.probabilities) - 1) < 1e-4
        else:
            assert result.error


def test_results_follow_input_order_and_match_a_direct_forward_pass(real_test_subset):
    classifier = random_classifier()
    files = sorted(real_test_subset.rglob("*.jpeg"))[:10]
    results = list(classifier.classify(files, batch_size=3))
    assert [r.path for r in results] == files
    from model.images.preprocess import to_uint8_array
    from model.images.reading import load_rgb

    pixels = np.stack([to_uint8_array(load_rgb(f), classifier.policy) for f in files])
    expected = classifier.probabilities(pixels)
    got = np.array([r.probabilities for r in results])
    assert np.allclose(got, expected, atol=1e-5)


def test_folded_batch_norms_answer_as_the_trained_network_does():
    torch.manual_seed(2)
    module = build_model("seed-deep", len(CLASSES)).train()
    with torch.no_grad():  # running statistics that differ from the identity
        for _ in range(3):
            module(torch.randn(16, 3, 64, 64) * 2 + 1)
    module.eval()
    folded = fold_batch_norms(module)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in module.modules()), "the original must stay as it was"
    batch = torch.randn(8, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(folded(batch), module(batch), atol=1e-4)


def test_missing_input_is_a_result_not_an_exception(tmp_path):
    results = list(random_classifier().classify([tmp_path / "nope.jpg"]))
    assert len(results) == 1 and not results[0].ok and "does not exist" in results[0].error


def test_stop_request_ends_between_batches_and_keeps_what_was_yielded(real_test_subset):
    classifier = random_classifier()
    seen = []
    for result in classifier.classify([real_test_subset], batch_size=4, should_stop=lambda: len(seen) >= 8):
        seen.append(result)
    assert len(seen) == 8


@pytest.mark.slow
def test_memory_does_not_grow_with_the_number_of_images(real_test_subset):
    classifier = random_classifier()
    files = sorted(real_test_subset.rglob("*.jpeg"))

    def peak(repeat: int) -> int:
        tracemalloc.start()
        for _ in classifier.classify(files * repeat, batch_size=8):
            pass
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return high

    small, large = peak(2), peak(12)
    assert large < small * 1.5

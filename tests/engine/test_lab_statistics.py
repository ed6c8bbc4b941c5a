"""Matching a model to a lab's own unlabelled images: its BatchNorm statistics re-measured."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import CLASSES, pbc_data, real_data, run_bloodcell, with_lab_statistics
from PIL import Image

from model.adaptation.lab_statistics import BATCH_SIZE, MIN_IMAGES, match_lab, save_match
from model.common.hashing import file_sha256
from model.common.task import TaskState
from model.fileformat.header import LAB_STATISTICS, ModelInfo
from model.images.preprocess import InputPolicy
from model.inference.classifier import decode_image
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import load, save
from model.networks.build import build_model
from model.networks.members import networks_of
from model.training.calibrate import reference_statistics
from model.training.holdout import is_held_out


@pytest.fixture(scope="module")
def batch_norm_model(tmp_path_factory) -> Path:
    """A seed-deep network (BatchNorm) with running statistics that are not the identity and
    unfamiliar-image statistics, as a trained file has; the shipped default may normalise per
    picture, with nothing to match."""
    torch.manual_seed(5)
    network = with_lab_statistics(build_model("seed-deep", len(CLASSES)))
    info = ModelInfo("seed-deep", CLASSES, InputPolicy(64, 64, framing="cell"), name="BatchNorm test model")
    path = save(tmp_path_factory.mktemp("bn") / "bn.safetensors", network, info)
    loaded = load(path)
    # At least the 40 pictures to fit and 20 held out every calibration needs (model.training.calibrate).
    cells = sorted((real_data() / "TEST_SIMPLE").glob("*/*.jpeg"))
    more = sorted((real_data() / "TEST").glob("*/*.jpeg"))[::120]
    fit = [(cell, CLASSES.index(cell.parent.name)) for cell in [*cells[::2], *more]]
    references = reference_statistics(open_classifier(loaded, "cpu"), fit, cells[1::2], TaskState())
    return save(path, loaded.module, loaded.info, references=references)


def pbc_images(count: int, held_out: bool = False) -> list[Path]:
    """Images of the second lab, the same number of each class, in or out of its held-out share."""
    images = []
    for name in CLASSES:
        files = sorted(p for p in (pbc_data() / name).iterdir() if is_held_out(p) == held_out)
        images += files[: count // len(CLASSES)]
    return images


def first_norm(module: torch.nn.Module) -> torch.nn.BatchNorm2d:
    return next(m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d))


@pytest.mark.slow
def test_statistics_are_the_lab_images_own_and_the_weights_are_kept(tmp_path, batch_norm_model):
    parent = load(batch_norm_model)
    assert parent.references is not None
    images = pbc_images(128)
    match = match_lab(parent, file_sha256(batch_norm_model), images, TaskState())
    assert match.images_used == 128 and match.left_out == []
    parents = networks_of(parent.module, parent.info.is_ensemble)
    matched = networks_of(match.model.module, parent.info.is_ensemble)
    for index, (before, after, network) in enumerate(zip(parents, matched, parent.info.networks, strict=True)):
        # The first BatchNorm's input does not depend on any statistics: its new running mean
        # must be the mean, over the batches, of that input's per-channel means on these images.
        seen: list[torch.Tensor] = []
        hook = first_norm(before).register_forward_hook(
            lambda _, inputs, __, seen=seen: seen.append(inputs[0].mean((0, 2, 3)))
        )
        policy = network.policy
        mean, std = torch.tensor(policy.mean).view(1, 3, 1, 1), torch.tensor(policy.std).view(1, 3, 1, 1)
        with torch.no_grad():
            for start in range(0, len(images), BATCH_SIZE):
                pixels = np.stack([decode_image(p, [policy]).pixels[0] for p in images[start : start + BATCH_SIZE]])
                before.float()((torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255 - mean) / std)
        hook.remove()
        expected = torch.stack(seen).mean(0)
        assert torch.allclose(first_norm(after).running_mean, expected, atol=1e-4), f"network {index}"
        assert not torch.allclose(first_norm(after).running_mean, first_norm(before).running_mean, atol=1e-3)
        for (name, old), new in zip(before.named_parameters(), after.parameters(), strict=True):
            assert torch.equal(old.float(), new.float()), name  # only statistics move
    step = match.model.info.adaptations[-1]
    assert step["kind"] == LAB_STATISTICS and step["images"] == 128
    assert step["parent_sha256"] == file_sha256(batch_norm_model)

    saved = save_match(match, tmp_path / "matched.safetensors", name="matched")
    reloaded = load(saved)
    assert reloaded.references is None and reloaded.info.unfamiliar == {} and reloaded.graphs
    probe = pbc_images(8, held_out=True)
    onnx = [r.probabilities for r in open_classifier(reloaded, "cpu", backend="onnx").classify(probe)]
    torch_answers = [r.probabilities for r in open_classifier(reloaded, "cpu", backend="torch").classify(probe)]
    assert np.allclose(onnx, torch_answers, atol=1e-4)  # the exported graph carries the new statistics
    assert open_classifier(reloaded, "cpu").threshold() is None  # the flag is unavailable, not wrong


def test_unusable_images_are_left_out_by_name_and_too_few_are_refused(tmp_path, batch_norm_model):
    parent = load(batch_norm_model)
    folder = tmp_path / "lab"
    folder.mkdir()
    for path in pbc_images(MIN_IMAGES - 4):
        shutil.copy(path, folder / path.name)
    Image.new("RGB", (200, 200), (236, 224, 226)).save(folder / "blank.png")
    (folder / "broken.jpeg").write_bytes(b"\xff\xd8 not a picture")
    with pytest.raises(ValueError, match=rf"{MIN_IMAGES - 4} usable images .*at least {MIN_IMAGES}.*2 left out"):
        match_lab(parent, "0" * 64, sorted(folder.iterdir()), TaskState())
    for path in pbc_images(8, held_out=True):
        shutil.copy(path, folder / path.name)
    match = match_lab(parent, "0" * 64, sorted(folder.iterdir()), TaskState())
    reasons = dict(match.left_out)
    assert match.images_used == MIN_IMAGES + 4 and set(reasons) == {folder / "blank.png", folder / "broken.jpeg"}
    assert "no stained cell" in reasons[folder / "blank.png"]


def test_a_stop_keeps_nothing_and_leaves_the_parent_as_it_was(batch_norm_model):
    parent = load(batch_norm_model)
    module = list(parent.module)[0] if parent.info.is_ensemble else parent.module
    before = first_norm(module).running_mean.clone()
    state = TaskState(lambda _: state.request_stop())  # stopped at the first progress report
    with pytest.raises(InterruptedError, match="cancelled"):
        match_lab(parent, "0" * 64, pbc_images(256), state)
    assert torch.equal(first_norm(module).running_mean, before)


@pytest.mark.slow
def test_the_command_matches_a_folder_and_the_file_records_it(tmp_path, batch_norm_model):
    folder = tmp_path / "lab images"
    folder.mkdir()
    for path in pbc_images(120):
        shutil.copy(path, folder / path.name)
    out = tmp_path / "matched.safetensors"
    done = run_bloodcell("match-lab", folder, "--model", batch_norm_model, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "measured on 120 images" in done.stdout and "unavailable" in done.stdout
    info = run_bloodcell("info", out)
    assert '"kind": "lab statistics"' in info.stdout
    refused = run_bloodcell(
        "match-lab", tmp_path / "nowhere", "--model", batch_norm_model, "--out", tmp_path / "x.safetensors"
    )
    assert refused.returncode == 2 and "nowhere: no such file or folder" in refused.stderr
    (tmp_path / "empty").mkdir()
    refused = run_bloodcell(
        "match-lab", tmp_path / "empty", "--model", batch_norm_model, "--out", tmp_path / "x.safetensors"
    )
    assert refused.returncode == 2 and "0 usable images" in refused.stderr


@pytest.mark.slow
def test_a_model_normalised_per_picture_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "instance.safetensors"
    save(
        path,
        build_model("seed-deep-instance", len(CLASSES)),
        ModelInfo("seed-deep-instance", CLASSES, InputPolicy(48, 48)),
    )
    refused = run_bloodcell("match-lab", pbc_data() / "MONOCYTE", "--model", path, "--out", tmp_path / "x.safetensors")
    assert refused.returncode == 2 and "no statistics to move" in refused.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_an_ensemble_with_a_network_normalised_per_picture_is_refused(tmp_path):
    """One rule for every way in: the window and the CLI's advice ask the architecture registry,
    and so does matching, even when another member has BatchNorm to move."""
    torch.manual_seed(2)
    arches = ["seed-deep", "seed-deep-instance"]
    members = [with_lab_statistics(build_model(arch, len(CLASSES))) for arch in arches]
    policy = InputPolicy(48, 48, framing="cell")
    info = ModelInfo("ensemble", CLASSES, policy, members=[ModelInfo(arch, CLASSES, policy) for arch in arches])
    path = save(tmp_path / "mixed.safetensors", torch.nn.ModuleList(members), info)
    with pytest.raises(ValueError, match="seed-deep-instance.*no statistics to move"):
        match_lab(load(path), file_sha256(path), pbc_images(MIN_IMAGES + 4), TaskState())

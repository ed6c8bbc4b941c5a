"""The unfamiliar-image score: statistics, calibration, model files, the CLI and the review rules."""

import csv
import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import CLASSES, link_subset
from helpers import pbc_data, real_data, run_bloodcell

from model.modelfile.torch_file import ModelFileError, load, save
from model.review.export import write_session_csv
from model.review.session import ImageRow, ReviewSession
from model.unfamiliar.statistics import (
    NO_LEUKOCYTE,
    UNLIKE_TRAINING,
    ReferenceError,
    ReferenceStatistics,
    another_lab,
    calibrate,
)
from tools.unfamiliar_proxies import write_proxies

DEFAULT_MODEL = Path(__file__).parents[2] / "resources" / "default_model.safetensors"


def clusters(rng, n, centres, spread=1.0):
    labels = rng.integers(0, len(centres), n)
    return centres[labels] + rng.normal(0, spread, (n, centres.shape[1])), labels


def test_far_features_score_higher_and_the_threshold_passes_the_chosen_share():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 6, (3, 20))
    train, labels = clusters(rng, 600, centres)
    held, _ = clusters(rng, 2000, centres)
    logits = lambda f: -((f[:, None, :] - centres[None]) ** 2).sum(-1) / 10  # noqa: E731
    references = calibrate(([train], [logits(train)], labels), ([held], [logits(held)]), 3, pass_share=0.9)
    fresh, _ = clusters(rng, 2000, centres)
    passed = (references.scores([fresh], [logits(fresh)]) <= references.threshold).mean()
    assert 0.86 < passed < 0.94
    far = rng.normal(0, 6, (200, 20)) + 25
    assert (references.scores([far], [logits(far)]) > references.threshold).mean() > 0.99


def test_each_lab_is_held_to_the_pass_share_when_calibrated_lab_by_lab():
    rng = np.random.default_rng(2)
    centres = rng.normal(0, 6, (3, 20))
    logits = lambda f: -((f[:, None, :] - centres[None]) ** 2).sum(-1) / 10  # noqa: E731
    train, labels = clusters(rng, 900, centres)
    # A large lab like the training images, and a smaller one whose cells sit further out.
    near, _ = clusters(rng, 1200, centres)
    far, _ = clusters(rng, 300, centres, spread=1.25)
    held = np.concatenate([near, far])
    sources = [0] * len(near) + [1] * len(far)

    def passing(references, features):
        return (references.scores([features], [logits(features)]) <= references.threshold).mean()

    pooled = calibrate(([train], [logits(train)], labels), ([held], [logits(held)]), 3)
    by_lab = calibrate(([train], [logits(train)], labels), ([held], [logits(held)]), 3, held_out_sources=sources)
    assert passing(pooled, far) < 0.9  # outnumbered, the further lab is flagged far beyond 4 %
    assert passing(by_lab, far) >= 0.955 and passing(by_lab, near) >= 0.99
    assert by_lab.summary["held_out_by_source"] == {"0": 1200, "1": 300} and "held_out_by_source" not in pooled.summary
    assert by_lab.who_passes() == "96% of each lab's held-out images (1200 + 300)"
    assert np.all(np.diff(by_lab.calibration_scores) >= 0) and len(by_lab.calibration_scores) == 1000
    # A lab with too few held-out images to estimate its own quantile counts only in the pool.
    few = calibrate(
        ([train], [logits(train)], labels),
        ([held[: 1200 + 10]], [logits(held[: 1200 + 10])]),
        3,
        held_out_sources=sources[: 1200 + 10],
    )
    assert "held_out_by_source" not in few.summary
    with pytest.raises(ReferenceError, match="source labels"):
        calibrate(([train], [logits(train)], labels), ([held], [logits(held)]), 3, held_out_sources=sources[:5])


def test_statistics_survive_a_round_trip_and_damage_is_refused():
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 5, (2, 8))
    train, labels = clusters(rng, 100, centres)
    held, _ = clusters(rng, 50, centres)
    references = calibrate(([train], [train[:, :2]], labels), ([held], [held[:, :2]]), 2)
    tensors = references.to_tensors()
    again = ReferenceStatistics.from_tensors(tensors, 2, [8])
    assert np.allclose(again.scores([held], [held[:, :2]]), references.scores([held], [held[:, :2]]), atol=1e-3)
    for damage in (
        {"unfamiliar.0.class_means": np.full((2, 8), np.nan, np.float32)},
        {"unfamiliar.0.components": np.zeros((7, 3), np.float32)},
        {"unfamiliar.0.variances": -np.ones_like(tensors["unfamiliar.0.variances"])},
        {"unfamiliar.pass_share": np.array([1.5], np.float32)},
        {"unfamiliar.extra": np.zeros(1, np.float32)},
    ):
        with pytest.raises(ReferenceError):
            ReferenceStatistics.from_tensors(tensors | damage, 2, [8])
    with pytest.raises(ReferenceError):
        ReferenceStatistics.from_tensors({k: v for k, v in tensors.items() if "scale" not in k}, 2, [8])


def test_an_unidentified_image_is_out_of_the_differential_until_given_a_class():
    session = ReviewSession(classes=["A", "B"])
    session.rows = [
        ImageRow(Path("a"), (0.99, 0.01), unfamiliarity=0.0, unfamiliar_threshold=1.0),
        ImageRow(Path("b"), (0.6, 0.4), unfamiliarity=0.0, unfamiliar_threshold=1.0),
        ImageRow(Path("c"), (0.99, 0.01), unfamiliarity=5.0, unfamiliar_threshold=1.0),
        ImageRow(Path("d"), (0.6, 0.4), unfamiliarity=0.0, unfamiliar_threshold=1.0, leukocyte_found=False),
        ImageRow(Path("e"), (0.99, 0.01), leukocyte_found=False),  # an old model: never unidentified
    ]
    assert [row.unidentified for row in session.rows] == [False, False, True, True, False]
    assert session.counts() == [3, 0] and session.unidentified_count == 2
    assert session.review_count == 1  # the unsure "d" is in the Unidentified bin, not in both
    assert session.rows[3].unfamiliar_reason == NO_LEUKOCYTE
    session.set_verified([2], 1)
    assert session.counts() == [3, 1] and session.unidentified_count == 1
    session.set_verified([2], None)  # undoing the decision puts it back
    assert session.unidentified_count == 2


def test_a_batch_looks_like_another_lab_when_far_more_of_its_cells_are_unfamiliar_than_calibrated():
    familiar = [None] * 93
    # 7 of 100 against the 4 % the model's own labs give: a hard day, not a new lab
    assert another_lab(familiar + [UNLIKE_TRAINING] * 7) is None
    found = another_lab(familiar + [UNLIKE_TRAINING] * 17)
    assert found is not None and (found.unlike, found.judged) == (17, 110)
    assert "17 of 110 images (15%) are unfamiliar to the model, against about 4%" in found.describe()
    assert "every image goes to review" in found.describe()
    # pictures without a leukocyte say nothing about the lab's stain: they are not judged
    assert another_lab(familiar + [UNLIKE_TRAINING] * 7 + [NO_LEUKOCYTE] * 300) is None


def test_a_few_images_are_judged_too_and_say_how_sure_the_judgement_is():
    """No minimum count: 5 of 5 unfamiliar images would come from the model's own labs once in
    ten million batches; 1 of 1 once in 25."""
    found = another_lab([UNLIKE_TRAINING] * 5)
    assert found is not None and "with 5 images the share could be anywhere from 57% to 100%" in found.describe()
    assert another_lab([UNLIKE_TRAINING]) is None
    assert another_lab([UNLIKE_TRAINING] * 2 + [None] * 30) is None
    many = another_lab([UNLIKE_TRAINING] * 300 + [None] * 300)
    assert many is not None and "could be anywhere" not in many.describe()
    # a model calibrated to pass fewer familiar images expects more unfamiliar ones
    assert another_lab([UNLIKE_TRAINING] * 15 + [None] * 85, pass_share=0.96) is not None
    assert another_lab([UNLIKE_TRAINING] * 15 + [None] * 85, pass_share=0.85) is None


def test_a_session_judges_the_lab_only_on_images_of_a_model_that_can_tell():
    session = ReviewSession(classes=["A", "B"])
    unfamiliar = [ImageRow(Path(f"u{i}"), (0.9, 0.1), unfamiliarity=5.0, unfamiliar_threshold=1.0) for i in range(40)]
    cannot_tell = [ImageRow(Path(f"o{i}"), (0.9, 0.1), unfamiliarity=None) for i in range(200)]
    unreadable = [ImageRow(Path(f"x{i}"), error="not an image") for i in range(100)]
    session.rows = unfamiliar + cannot_tell + unreadable
    found = session.another_lab()  # 40 judged, all unfamiliar: the images that cannot tell are not counted
    assert found is not None and found.judged == 40
    familiar = [ImageRow(Path(f"f{i}"), (0.9, 0.1), unfamiliarity=0.0, unfamiliar_threshold=1.0) for i in range(60)]
    session.rows += familiar
    found = session.another_lab()
    assert found is not None and (found.unlike, found.judged) == (40, 100)
    session.set_verified(list(range(40)), 0)  # a technician's class does not make the pictures familiar
    assert session.another_lab() == found


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """The shipped default model, calibrated on a small set of real cells by the CLI."""
    root = tmp_path_factory.mktemp("calibrate")
    data = link_subset(real_data() / "TRAIN", root / "data", per_class=30, offset=200)
    out = root / "calibrated.safetensors"
    done = run_bloodcell("calibrate", DEFAULT_MODEL, data, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "unfamiliar-image statistics: fitted on" in done.stdout
    return out


@pytest.mark.slow
def test_the_cli_flags_pictures_that_are_not_white_cells(calibrated, real_test_subset, tmp_path):
    proxies = write_proxies(tmp_path / "proxies", crops_per_picture=1)
    out = tmp_path / "out.csv"
    done = run_bloodcell("classify", tmp_path / "proxies", real_test_subset, "--model", calibrated, "--csv", out)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    others = [r for r in rows if Path(r["path"]).parent.name == "proxies"]
    cells = [r for r in rows if Path(r["path"]).parent.name in CLASSES]
    assert len(others) == len(proxies) and len(cells) == 32
    assert sum(bool(r["unidentified"]) for r in others) / len(others) >= 0.95
    assert sum(bool(r["unidentified"]) for r in cells) <= 8  # calibrated on 84 cells: a loose bound
    blank = next(r for r in others if Path(r["path"]).name == "blank0.png")
    assert blank["unidentified"] == NO_LEUKOCYTE
    printed = re.search(r"Unidentified\s+(\d+)", done.stdout)
    assert printed and int(printed.group(1)) == sum(bool(r["unidentified"]) for r in rows)
    info = json.loads(run_bloodcell("info", calibrated).stdout)
    assert info["unfamiliar"]["fitted_on"] > 50


@pytest.mark.slow
def test_the_cli_calibrates_each_data_folder_as_a_lab(tmp_path):
    blood_cells = link_subset(real_data() / "TRAIN", tmp_path / "bc", per_class=60, offset=400)
    pbc = link_subset(pbc_data(), tmp_path / "pbc", per_class=40)
    out = tmp_path / "two-labs.safetensors"
    done = run_bloodcell("calibrate", DEFAULT_MODEL, blood_cells, pbc, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "96% of each lab's held-out images" in done.stdout
    unfamiliar = json.loads(run_bloodcell("info", out).stdout)["unfamiliar"]
    counts = unfamiliar["held_out_by_source"]
    assert set(counts) == {"0", "1"} and sum(counts.values()) == unfamiliar["calibrated_on"]
    assert 40 <= counts["1"] <= 56  # 30 % of pbc's 160 cells, one picture each
    loaded = load(out)  # saved again (as shipping a model does), the file still says how it was calibrated
    again = save(tmp_path / "again.safetensors", loaded.module, loaded.info, references=loaded.references)
    kept = json.loads(run_bloodcell("info", again).stdout)["unfamiliar"]
    assert kept.pop("pass_share") == pytest.approx(unfamiliar.pop("pass_share")) and kept == unfamiliar
    assert load(again).references.who_passes().startswith("96% of each lab's held-out images")


@pytest.fixture(scope="module")
def one_lab_model(seed_model_file, tmp_path_factory):
    """A seed network (BatchNorm, untrained) whose unfamiliar-image statistics come from
    blood-cells cells only, by the CLI."""
    root = tmp_path_factory.mktemp("one-lab")
    data = link_subset(real_data() / "TRAIN", root / "data", per_class=30, offset=200)
    out = root / "one-lab.safetensors"
    done = run_bloodcell("calibrate", seed_model_file, data, "--out", out)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_classify_says_when_the_pictures_look_like_a_lab_the_model_does_not_know(one_lab_model, tmp_path):
    # `one_lab_model` learned its statistics from blood-cells cells only: the pbc lab's are new to
    # it. The shipped default was trained and calibrated on both labs and knows them.
    other_lab = link_subset(pbc_data(), tmp_path / "pbc", per_class=30)
    for model, expected in ((one_lab_model, True), (DEFAULT_MODEL, False)):
        done = run_bloodcell("classify", other_lab, "--model", model, "--csv", tmp_path / "out.csv")
        assert done.returncode == 0, done.stderr
        assert ("most likely new to it" in done.stdout) is expected, (model, done.stdout)
        assert ("bloodcell match-lab" in done.stdout) is expected


@pytest.mark.parametrize(
    ("arch", "command"),
    [
        ("seed-deep", "bloodcell match-lab"),
        ("seed-deep-instance", "bloodcell finetune"),
        ("seed-deep-instance-colour", "bloodcell finetune"),
    ],
)
def test_a_new_lab_is_pointed_to_matching_only_when_the_model_has_statistics_to_match(arch, command):
    # A network normalised per picture keeps no lab's statistics: match-lab would refuse it, so
    # the advice is to adapt it from verified cells instead.
    from model.cli.main import adapting_advice
    from model.fileformat.header import ModelInfo
    from model.images.preprocess import InputPolicy

    single = ModelInfo(arch, CLASSES, InputPolicy())
    assert command in adapting_advice(single)
    pair = ModelInfo(arch, CLASSES, InputPolicy(), members=[single, ModelInfo("seed-deep", CLASSES, InputPolicy())])
    assert ("bloodcell match-lab" in adapting_advice(pair)) is (arch == "seed-deep")


@pytest.mark.slow
def test_evaluate_reports_the_flagged_share_and_accuracy_on_accepted_images(calibrated, real_test_subset):
    done = run_bloodcell("evaluate", real_test_subset, "--model", calibrated)
    assert done.returncode == 0, done.stderr
    assert "Unidentified (unfamiliar images):" in done.stdout and "Accepted without review" in done.stdout


@pytest.mark.slow
def test_a_model_without_statistics_still_classifies_and_says_the_flag_is_unavailable(real_test_subset, tmp_path):
    shipped = load(DEFAULT_MODEL)
    assert shipped.references is not None  # the default ships with them
    older = save(tmp_path / "older.safetensors", shipped.module, shipped.info)  # as files made before them
    out = tmp_path / "out.csv"
    done = run_bloodcell("classify", real_test_subset, "--model", older, "--csv", out)
    assert done.returncode == 0 and "Unidentified: not available" in done.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and all(r["unfamiliarity"] == "" and r["unidentified"] == "" for r in rows)
    assert load(older).references is None


@pytest.mark.slow  # its fixture calibrates the default model on real cells (9 s)
def test_damaged_statistics_in_a_model_file_are_refused_with_a_reason(calibrated, tmp_path):
    raw = bytearray(calibrated.read_bytes())
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    start, end = header["unfamiliar.0.variances"]["data_offsets"]
    body = 8 + length
    raw[body + start : body + end] = np.full((end - start) // 4, -1.0, np.float32).tobytes()
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="unfamiliar-image statistics are damaged"):
        load(damaged)


@pytest.mark.slow
def test_calibrating_without_data_remakes_the_training_split_or_says_what_is_missing(tmp_path):
    from model.modelfile.torch_file import load, save

    moved = load(DEFAULT_MODEL)  # a model whose training folders are on another machine
    settings = moved.info.networks[0].training["settings"]
    settings["data"], settings["more_data"] = "/elsewhere/TRAIN", ["/elsewhere/pbc"]
    save(tmp_path / "moved.safetensors", moved.module, moved.info, references=moved.references)
    done = run_bloodcell("calibrate", tmp_path / "moved.safetensors", "--out", tmp_path / "x.safetensors", cwd=tmp_path)
    assert done.returncode == 2 and "training folders are not here" in done.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_an_ensemble_that_disagrees_sends_the_image_to_review_not_to_unidentified():
    # Three networks can disagree and still average above the review threshold; two cannot.
    confident = ImageRow(Path("x"), (0.96, 0.02, 0.01, 0.01), unfamiliarity=0.5, unfamiliar_threshold=1.0)
    session = ReviewSession(classes=CLASSES, threshold=0.95, rows=[confident])
    assert not session.needs_review(confident) and session.counts() == [1, 0, 0, 0]
    confident.networks_agree = False
    assert confident.unfamiliar_reason is None and not confident.unidentified
    assert session.needs_review(confident) and session.unidentified_count == 0
    assert session.counts() == [1, 0, 0, 0]  # in the differential, as the model's answer until reviewed
    session.set_reviewed([0])
    assert not session.needs_review(confident)
    many = [
        ImageRow(Path(f"{i}"), (0.6, 0.4, 0, 0), unfamiliarity=0.5, unfamiliar_threshold=1.0, networks_agree=False)
        for i in range(200)
    ]
    assert ReviewSession(classes=CLASSES, rows=many).another_lab() is None  # unsure is not another lab


def test_unlike_training_is_the_reason_when_only_the_score_is_high():
    row = ImageRow(Path("x"), (0.9, 0.1), unfamiliarity=2.0, unfamiliar_threshold=1.0)
    assert row.unfamiliar_reason == UNLIKE_TRAINING


def test_a_new_lab_sends_every_image_to_review_and_its_differential_is_provisional(tmp_path):
    confident = [ImageRow(Path(f"c{i}"), (0.99, 0.01), unfamiliarity=0.1, unfamiliar_threshold=1.0) for i in range(3)]
    unlike = [ImageRow(Path(f"u{i}"), (0.99, 0.01), unfamiliarity=5.0, unfamiliar_threshold=1.0) for i in range(5)]
    session = ReviewSession(classes=["A", "B"], rows=confident + unlike)
    assert [session.status(row) for row in session.rows] == ["review"] * 3 + ["unidentified"] * 5
    assert session.provisional and session.review_count == 3
    out = tmp_path / "new-lab.csv"
    write_session_csv(session, out, model_name="m", model_sha256="abc")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {row["provisional"] for row in rows} == {"yes"}
    session.set_reviewed([0, 1, 2])  # a technician looked at every answer: the counts are theirs
    assert not session.provisional and [session.status(row) for row in confident] == ["accepted"] * 3
    familiar = ReviewSession(classes=["A", "B"], rows=[ImageRow(Path(f"f{i}"), (0.99, 0.01)) for i in range(3)])
    assert [familiar.status(row) for row in familiar.rows] == ["accepted"] * 3 and not familiar.provisional

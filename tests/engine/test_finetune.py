"""Adapting a model to a lab's verified cells: the split, the checks, the chain it records."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CLASSES, pbc_cells

from model.adaptation.checks import coverage_problems
from model.adaptation.finetune import adapt, hold_back, save_adaptation
from model.adaptation.settings import FinetuneSettings
from model.common.hashing import file_sha256
from model.common.task import TaskState
from model.modelfile.torch_file import load, read_info
from model.review.verified import VerifiedCell

FAST = FinetuneSettings(frozen_epochs=1, epochs=2, batch_size=8, device="cpu")


def test_each_class_is_held_back_in_part_never_whole():
    cells = [VerifiedCell(Path(f"{name}{i}.jpg"), name) for name, n in (("A", 8), ("B", 3), ("C", 1)) for i in range(n)]
    trained, held = hold_back(cells, 0.25, seed=0)
    held_count = {name: sum(c.label == name for c in held) for name in "ABC"}
    assert held_count == {"A": 2, "B": 1, "C": 0}  # one cell alone is trained on, not held back
    assert len(trained) + len(held) == len(cells) and not set(trained) & set(held)
    assert hold_back(cells, 0.25, seed=0) == (trained, held)  # seeded
    assert hold_back(cells, 0.25, seed=1)[1] != held


def test_too_few_cells_or_one_class_are_refused_and_thin_classes_named():
    refusals, _ = coverage_problems(pbc_cells({"EOSINOPHIL": 3}), CLASSES)
    assert any("at least 4" in r for r in refusals)
    refusals, _ = coverage_problems(pbc_cells({"EOSINOPHIL": 6}), CLASSES)
    assert any("two classes" in r for r in refusals)
    refusals, _ = coverage_problems([*pbc_cells({"EOSINOPHIL": 6}), VerifiedCell(Path("x.jpg"), "PLATELET")], CLASSES)
    assert any("PLATELET" in r for r in refusals)
    refusals, warnings = coverage_problems(pbc_cells({"EOSINOPHIL": 12, "LYMPHOCYTE": 3}), CLASSES)
    assert not refusals
    assert "MONOCYTE, NEUTROPHIL" in warnings[0] and "LYMPHOCYTE (3)" in warnings[1]


@pytest.mark.slow
def test_an_unbalanced_set_adapts_every_network_and_records_its_parent(seed_model_file, tmp_path):
    from model.modelfile.ensemble import combine

    parent_path = tmp_path / "ensemble.safetensors"
    from model.modelfile.torch_file import save

    ensemble = combine([seed_model_file, seed_model_file], name="two seeds")
    save(parent_path, ensemble.module, ensemble.info)
    parent = load(parent_path)
    # A class with 3 cells and a class with none, as a lab's first days of review give.
    cells = pbc_cells({"EOSINOPHIL": 10, "LYMPHOCYTE": 8, "MONOCYTE": 3})
    adaptation = adapt(parent, file_sha256(parent_path), cells, FAST, TaskState())
    assert adaptation.trained == {"EOSINOPHIL": 8, "LYMPHOCYTE": 6, "MONOCYTE": 2}
    assert adaptation.held_back == {"EOSINOPHIL": 2, "LYMPHOCYTE": 2, "MONOCYTE": 1}
    assert adaptation.before.total == adaptation.after.total == 5
    assert any("NEUTROPHIL" in warning for warning in adaptation.warnings)
    # Every network changed; the parent's weights did not.
    for new, old, untouched in zip(adaptation.model.module, parent.module, load(parent_path).module, strict=True):
        new_weights, old_weights = new.state_dict(), old.state_dict()
        assert any(not new_weights[k].equal(old_weights[k].float()) for k in new_weights)
        assert all(old.state_dict()[k].equal(untouched.state_dict()[k]) for k in old_weights)

    out = save_adaptation(adaptation, tmp_path / "adapted.safetensors", name="lab A")
    info = read_info(out)
    assert info.name == "lab A" and len(info.members) == 2
    (step,) = info.adaptations
    assert step["parent_sha256"] == file_sha256(parent_path) and step["parent_name"] == "two seeds"
    assert step["cells_per_class"] == {"EOSINOPHIL": 8, "LYMPHOCYTE": 6, "MONOCYTE": 2, "NEUTROPHIL": 0}
    assert step["after"]["images"] == 5 and 0 <= step["after"]["balanced_accuracy"] <= 1

    # Adapting the adapted model extends the chain.
    again = adapt(load(out), file_sha256(out), cells, FAST, TaskState())
    assert [s["parent_name"] for s in again.model.info.adaptations] == ["two seeds", "lab A"]


def test_a_stop_keeps_the_weights_reached(seed_model_file):
    state = TaskState()
    seen = []

    def report(event):
        seen.append(event)
        state.request_stop()

    state.report = report
    cells = pbc_cells({"EOSINOPHIL": 6, "NEUTROPHIL": 6})
    adaptation = adapt(load(seed_model_file), "0" * 64, cells, FAST, state)
    assert adaptation.stopped_by_user and adaptation.model.info.adaptations[-1]["stopped_by_user"]
    assert adaptation.after.total == adaptation.before.total == 4  # still compared after the stop
    assert seen


def test_the_cli_adapts_from_folders_and_info_shows_the_chain(seed_model_file, tmp_path, capsys):
    from model.cli.main import main

    data = tmp_path / "lab"
    for cell in pbc_cells({"EOSINOPHIL": 5, "LYMPHOCYTE": 5, "MONOCYTE": 4, "NEUTROPHIL": 5}):
        (data / cell.label).mkdir(parents=True, exist_ok=True)
        (data / cell.label / cell.path.name).symlink_to(cell.path)
    (data / "NEUTROPHIL" / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "adapted.safetensors"
    arguments = ["finetune", str(data), "--model", str(seed_model_file), "--epochs", "1", "--frozen-epochs", "1"]
    assert main([*arguments, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # every epoch line follows a line that says which network and which phase it belongs to
    assert "network 1 of 1 (seed): 1 epoch(s), last layer only" in printed
    assert printed.index("network 1 of 1 (seed): 1 epoch(s), the whole network") < printed.rindex("epoch 1/1")
    assert read_info(out).adaptations[0]["cells_per_class"]["MONOCYTE"] == 3  # 4, one held back
    assert main(["finetune", str(data), "--model", str(seed_model_file), "--out", str(seed_model_file)]) == 2
    assert main(["finetune", str(data / "EOSINOPHIL"), "--model", str(seed_model_file), "--out", str(out)]) == 2


def test_adapting_from_a_file_imports_fastai_quietly_before_reading_the_parent(monkeypatch, tmp_path):
    # Reading the parent's networks imports fastai (model.networks.build): done first, the import makes
    # no long collector pass that would freeze the window (model.common.collector).
    import model.adaptation.finetune as finetune
    import model.modelfile.torch_file as modelfile

    order = []
    monkeypatch.setattr(finetune, "import_quietly", lambda name: order.append(("import", name)))

    def refuse(path):
        order.append(("load", Path(path).name))
        raise ValueError("stop here")

    monkeypatch.setattr(modelfile, "load", refuse)
    with pytest.raises(ValueError, match="stop here"):
        finetune.adapt_file(TaskState(lambda event: None), tmp_path / "parent.safetensors", [], FAST)
    assert order == [("import", "fastai.vision.all"), ("load", "parent.safetensors")]

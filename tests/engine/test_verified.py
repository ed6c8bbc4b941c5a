"""The verified-cells store: decisions kept across restarts, undo forgets, damage refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import CLASSES
from PIL import Image

from model.review.session import ImageRow, ModelIdentity
from model.review.verified import VerifiedStore, VerifiedStoreError

MODEL = ModelIdentity("lab model", "ab" * 32)


def decided(path: Path, verified: int | None, reviewed: bool, sha256: str) -> ImageRow:
    return ImageRow(
        path, (0.7, 0.1, 0.1, 0.1), sha256=sha256, model=MODEL, verified=verified, reviewed=reviewed,
        decided_by="ana", decided_at="2026-11-28T10:00:00+00:00",
    )  # fmt: skip


def test_decisions_survive_a_restart_and_an_undo_forgets(tmp_path):
    store = VerifiedStore(tmp_path / "store.json")
    assert store.record(decided(tmp_path / "a.jpg", 2, True, "1" * 64), CLASSES)  # reclassified as MONOCYTE
    assert store.record(decided(tmp_path / "b.jpg", None, True, "2" * 64), CLASSES)  # accepted as EOSINOPHIL
    assert not store.record(decided(tmp_path / "c.jpg", None, False, "3" * 64), CLASSES)  # undecided: nothing
    # The same picture under another name is the same cell: the latest decision wins.
    assert store.record(decided(tmp_path / "copy-of-a.jpg", 3, True, "1" * 64), CLASSES)
    store.save()
    again = VerifiedStore(tmp_path / "store.json")
    assert again.counts(CLASSES) == {"EOSINOPHIL": 1, "LYMPHOCYTE": 0, "MONOCYTE": 0, "NEUTROPHIL": 1}
    entry = again.entries["1" * 64]
    assert (entry.label, entry.reviewer, entry.model_sha256) == ("NEUTROPHIL", "ana", MODEL.sha256)
    assert again.record(decided(tmp_path / "b.jpg", None, False, "2" * 64), CLASSES)  # undone
    assert again.counts(CLASSES)["EOSINOPHIL"] == 0


def test_cells_name_what_is_gone_and_export_makes_class_folders(tmp_path):
    here = tmp_path / "here.png"
    Image.new("RGB", (8, 8)).save(here)
    odd = Path(os.fsdecode(bytes(tmp_path / "caf") + b"\xe9.png"))  # not UTF-8
    Image.new("RGB", (8, 8)).save(odd)
    store = VerifiedStore(tmp_path / "store.json")
    store.record(decided(here, 0, True, "1" * 64), CLASSES)
    store.record(decided(odd, 1, True, "2" * 64), CLASSES)
    store.record(decided(tmp_path / "gone.png", 1, True, "3" * 64), CLASSES)
    store.save()
    store = VerifiedStore(tmp_path / "store.json")  # the odd name survives the file
    cells, missing = store.cells(CLASSES)
    assert sorted(cell.path for cell in cells) == sorted([here, odd])
    assert missing == [f"{tmp_path / 'gone.png'}: the file is no longer there"]
    assert store.export_tree(tmp_path / "tree") == 2
    assert (tmp_path / "tree" / "EOSINOPHIL" / "here.png").is_file()
    assert len(list((tmp_path / "tree" / "LYMPHOCYTE").iterdir())) == 1


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b'{"format": "something else"}',
        b'{"format": "bloodcell-verified-cells", "format_version": 9, "entries": []}',
        b'{"format": "bloodcell-verified-cells", "format_version": 1, "entries": [{"path": 3}]}',
        b'{"format": "bloodcell-verified-cells", "format_version": 1, "entries": {}}',
        b"[" * 100_000,
        "\u00e9".encode(),
    ],
)
def test_a_damaged_store_is_refused_with_its_name(tmp_path, content):
    path = tmp_path / "store.json"
    path.write_bytes(content)
    with pytest.raises(VerifiedStoreError, match="store.json"):
        VerifiedStore(path)
    assert path.read_bytes() == content  # never overwritten


def test_a_pipe_in_place_of_the_store_is_refused_not_waited_on(tmp_path):
    path = tmp_path / "store.json"
    os.mkfifo(path)
    with pytest.raises(VerifiedStoreError, match="not a regular file"):
        VerifiedStore(path)


def test_each_cell_knows_its_sample_and_adapting_can_choose_samples(tmp_path):
    pictures = []
    for name in ("lab.jpg", "test-slide.jpg"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
        pictures.append(tmp_path / name)
    store = VerifiedStore(tmp_path / "store.json")
    store.record(decided(pictures[0], 1, True, "1" * 64), CLASSES, sample_id="S-1")
    store.record(decided(pictures[1], 2, True, "2" * 64), CLASSES, sample_id="TEST-SLIDE")
    store.save()
    again = VerifiedStore(tmp_path / "store.json")
    assert again.samples() == {"S-1": 1, "TEST-SLIDE": 1}
    cells, _ = again.cells(CLASSES, samples={"S-1"})
    assert [cell.path.name for cell in cells] == ["lab.jpg"]
    assert len(again.cells(CLASSES)[0]) == 2

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from model.images.preprocess import InputPolicy
from model.modelfile.torch_file import ModelFileError, ModelInfo, load, read_info, save
from model.networks.build import build_model

CLASSES = ["A", "B", "C"]


def saved_model(path: Path, arch: str = "seed") -> torch.nn.Module:
    torch.manual_seed(1)
    module = build_model(arch, len(CLASSES)).eval()
    info = ModelInfo(arch=arch, classes=CLASSES, policy=InputPolicy(64, 48), metrics={"test": {"accuracy": 0.9}})
    save(path, module, info)
    return module


def test_round_trip_keeps_metadata_and_predictions(tmp_path):
    path = tmp_path / "m.safetensors"
    original = saved_model(path)
    loaded = load(path)
    assert loaded.info.classes == CLASSES
    assert loaded.info.policy == InputPolicy(64, 48)
    assert loaded.info.test_accuracy == 0.9
    assert read_info(path).arch == "seed"
    batch = torch.randn(4, 3, 48, 64)
    with torch.no_grad():
        # weights are stored in float16: predictions agree to that precision
        assert torch.allclose(original.half().float()(batch), loaded.module(batch), atol=1e-3)


def test_test_time_views_are_recorded_and_older_files_use_one_view(tmp_path):
    path = tmp_path / "m.safetensors"
    module = build_model("seed", len(CLASSES))
    save(path, module, ModelInfo(arch="seed", classes=CLASSES, policy=InputPolicy(), test_time_views="quarter-turns"))
    assert load(path).info.test_time_views == "quarter-turns"
    older = ModelInfo(arch="seed", classes=CLASSES, policy=InputPolicy()).to_json()
    del older["test_time_augmentation"]
    save_file(module.state_dict(), path, metadata={"bloodcell": json.dumps(older)})
    assert read_info(path).test_time_views == "none"
    save_file(module.state_dict(), path, metadata={"bloodcell": json.dumps(older | {"test_time_augmentation": "x"})})
    with pytest.raises(ModelFileError, match="unknown test-time view set 'x'"):
        load(path)


class Boom:
    def __reduce__(self):
        return (Path.touch, (Path(__file__).parent / "PWNED",))


def test_a_pickle_under_a_model_name_is_refused_and_not_run(tmp_path):
    marker = Path(__file__).parent / "PWNED"
    marker.unlink(missing_ok=True)
    for name, write in {
        "fastai.safetensors": lambda p: p.write_bytes(pickle.dumps(Boom())),
        "torch.safetensors": lambda p: torch.save({"x": Boom()}, p),
    }.items():
        path = tmp_path / name
        write(path)
        with pytest.raises(ModelFileError, match="pickle"):
            load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty or truncated"),
        (b"hello world, this is text", "not a BloodCell model"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......", "header"),
    ],
)
def test_garbage_is_refused(tmp_path, content, words):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=words):
        load(path)


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    saved_model(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(ModelFileError):
        load(path)


def test_foreign_safetensors_is_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, path)
    with pytest.raises(ModelFileError, match="no BloodCell metadata"):
        load(path)


def test_weights_that_do_not_fit_the_architecture_are_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    module = build_model("seed", 3)
    info = ModelInfo(arch="seed-deep", classes=CLASSES, policy=InputPolicy())
    save(path, module, info)
    with pytest.raises(ModelFileError, match="do not fit"):
        load(path)


def test_newer_format_is_refused_with_advice(tmp_path):
    path = tmp_path / "m.safetensors"
    info = ModelInfo(arch="seed", classes=CLASSES, policy=InputPolicy())
    metadata = info.to_json() | {"format_version": 99}
    save_file({"w": torch.zeros(1)}, path, metadata={"bloodcell": json.dumps(metadata)})
    with pytest.raises(ModelFileError, match="update BloodCell"):
        read_info(path)


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    saved_model(path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("model.common.atomic.os.fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        saved_model(path, arch="seed-deep")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]

"""Model files, valid and hostile: every one loads or is refused with a sentence naming it;
never a traceback, never unbounded memory."""

import json
import random
import resource
import struct

import pytest
import torch
from helpers import CLASSES, WRONG_VALUES, every_node, with_value
from safetensors.torch import save_file

from model.images.preprocess import InputPolicy
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import ModelFileError, ModelInfo, load, read_info, save
from model.networks.build import build_model


def tiny_info(**fields) -> ModelInfo:
    return ModelInfo(arch="seed", classes=CLASSES, policy=InputPolicy(32, 32), **fields)


def header_length(path) -> int:
    return struct.unpack("<Q", path.read_bytes()[:8])[0]


@pytest.mark.slow
def test_a_saved_model_loads_whatever_its_header_length(tmp_path):
    """About 1 in 32 files were refused as pickles when the header length's low byte was 0x80."""
    network = build_model("seed", 4)
    residues = {}
    for extra in range(0, 1200):
        path = tmp_path / "m.safetensors"
        save(path, network, tiny_info(name="lab model " + "x" * extra))
        residue = header_length(path) % 256
        if residue not in residues:
            residues[residue] = extra
            assert load(path).info.name == "lab model " + "x" * extra
        if len(residues) == 256 // 8:  # safetensors pads the header to a multiple of 8
            break
    assert 0x80 in residues and len(residues) == 32


def rewrite_metadata(path, target, change) -> None:
    """Copy a model file with its BloodCell metadata changed by `change(document)`."""
    from safetensors.torch import load_file

    document = read_info(path).to_json()
    change(document)
    save_file(load_file(path), target, metadata={"bloodcell": json.dumps(document)})


@pytest.fixture(scope="module")
def good_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.safetensors"
    torch.manual_seed(0)
    save(path, build_model("seed", 4), tiny_info(name="good"))
    return path


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(format_version="1"), "'format_version' must be a whole number"),
        (lambda d: d.update(format_version=99), "newer than this app"),
        (lambda d: d["input"].update(mean=[0.5, 0.5]), "'mean' must be a list of 3 numbers"),
        (lambda d: d["input"].update(std=[0.2, 0, 0.2]), "each must be above 0"),
        (lambda d: d["input"].update(std=[0.2, float("nan"), 0.2]), "only finite numbers"),
        (lambda d: d["input"].update(width=1_000_000), "'width' is 1000000"),
        (lambda d: d.update(classes=["A", "A", "B", "C"]), "two classes have the same name"),
        (lambda d: d.update(classes=["", "B", "C", "D"]), "is not a name"),
        (lambda d: d.update(name=["a list"]), "'name' must be text"),
        (lambda d: d.update(metrics={"test": {"accuracy": "high"}}), "metrics.test.accuracy"),
        (lambda d: d.update(training={"seconds": "long"}), "training.seconds"),
        (lambda d: d.update(architecture="vgg"), "unknown architecture"),
        (lambda d: d.update(architecture="ensemble", members=[d.copy() for _ in range(200)]), "2 to 8 member"),
    ],
)
def test_metadata_of_the_wrong_type_or_range_is_refused_by_field(good_model, tmp_path, change, reason):
    target = tmp_path / "bad.safetensors"
    rewrite_metadata(good_model, target, change)
    with pytest.raises(ModelFileError, match=reason) as refused:
        load(target)
    assert str(target) in str(refused.value)


@pytest.mark.slow
def test_any_metadata_field_of_the_default_model_with_a_wrong_value_is_refused_or_reads(tmp_path):
    # The shipped file has every kind of field (members, sources, statistics, training records).
    # Each in turn is given a value of another type or size, or removed: reading the header
    # either succeeds or refuses by name; never another exception.
    from safetensors import safe_open

    from model.common.resources import default_model_path

    with safe_open(default_model_path(), "pt") as opened:
        document = json.loads(opened.metadata()["bloodcell"])
    target = tmp_path / "changed.safetensors"
    tensors = {"w": torch.zeros(1)}  # read_info reads the metadata only
    refused = 0
    for where in every_node(document, list_items=2):
        for value in WRONG_VALUES:
            save_file(tensors, target, metadata={"bloodcell": json.dumps(with_value(document, where, value))})
            try:
                read_info(target)
            except ModelFileError as error:
                assert str(target) in str(error)
                refused += 1
    assert refused > 500  # the checks do refuse; the loop is not vacuous


def test_a_deeply_nested_header_is_refused_with_the_file_name(tmp_path):
    path = tmp_path / "deep.safetensors"
    nested = "[" * 100_000 + "]" * 100_000
    save_file({"w": torch.zeros(1)}, path, metadata={"bloodcell": nested})
    with pytest.raises(ModelFileError, match="nested too deeply") as refused:
        read_info(path)
    assert "deep.safetensors" in str(refused.value)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda state: [t.fill_(float("nan")) for t in state.values() if t.is_floating_point()], "NaN or infinite"),
        (lambda state: state["12.bias"].fill_(float("inf")), "NaN or infinite"),
        (lambda state: state["0.1.running_var"].fill_(-1.0), "variance is negative"),
    ],
)
def test_damaged_weights_are_refused_not_turned_into_garbage(tmp_path, damage, reason):
    network = build_model("seed", 4)
    state = network.state_dict()
    damage(state)
    path = tmp_path / "damaged.safetensors"
    save(path, network, tiny_info(), half=False, graphs=False)  # as an older or crafted file would be
    with pytest.raises(ModelFileError, match=reason):
        load(path)


def test_pickles_and_zip_archives_are_refused_without_being_run(tmp_path):
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(b"\x80\x04\x95" + b"\x00" * 40)
    archive = tmp_path / "model.pth"
    torch.save({"w": torch.zeros(2)}, archive)
    for path in (pickled, archive):
        with pytest.raises(ModelFileError, match="pickled"):
            load(path)


@pytest.mark.slow
def test_random_headers_and_byte_flips_load_or_are_refused_in_bounded_memory(good_model, tmp_path, capsys):
    rng = random.Random(1)
    document = read_info(good_model).to_json()
    values = [None, True, -1, 0, 3.5, 1e308, float("nan"), "", "x" * 50, [], [1, 2], {}, {"a": [None]}]
    fields = [(document, key) for key in document] + [(document["input"], key) for key in document["input"]]
    original = good_model.read_bytes()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = {"loaded": 0, "refused": 0}
    for case in range(400):
        target = tmp_path / f"fuzz{case % 4}.safetensors"
        if case % 2:
            data = bytearray(original)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(0, min(len(data), 8 + header_length(good_model) + 64))] = rng.randrange(256)
            target.write_bytes(bytes(data))
        else:
            container, key = rng.choice(fields)

            def change(d, container=container, key=key):
                where = d["input"] if container is document["input"] else d
                where[key] = rng.choice(values)

            rewrite_metadata(good_model, target, change)
        try:
            open_classifier(load(target), "cpu")
            outcomes["loaded"] += 1
        except ModelFileError as error:
            assert str(target) in str(error)
            outcomes["refused"] += 1
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    with capsys.disabled():
        print(f"\nfuzzed model headers: {outcomes}, peak memory growth {peak:.0f} MB")
    assert outcomes["refused"] > 100 and peak < 500


def test_a_damaged_adaptation_chain_is_refused_by_name(good_model, tmp_path):
    target = tmp_path / "chain.safetensors"
    rewrite_metadata(good_model, target, lambda d: d.update(adaptations={"not": "a list"}))
    with pytest.raises(ModelFileError, match="adaptations"):
        load(target)
    rewrite_metadata(good_model, target, lambda d: d.update(adaptations=[{"parent_name": "x"}]))
    assert load(target).info.adaptations == [{"parent_name": "x"}]
    assert json.loads(json.dumps(read_info(target).to_json()))["adaptations"][0]["parent_name"] == "x"

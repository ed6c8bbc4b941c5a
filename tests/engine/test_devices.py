import pytest
import torch

from model.inference.devices import available_devices, resolve_device


def test_a_gpu_that_will_not_describe_itself_is_listed_with_the_reason(monkeypatch):
    def properties(index: int):
        if index == 1:
            raise RuntimeError("CUDA error: unknown error")
        return type("Props", (), {"name": "Lab GPU", "total_memory": 8 * 2**30})()

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_properties", properties)
    listed = dict(available_devices())
    assert listed["cpu"] == "CPU" and listed["cuda:0"] == "Lab GPU (8 GiB)"
    assert "unknown error" in listed["cuda:1"]


def test_a_gpu_asked_for_where_there_is_none_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="'cuda:0' was asked for"):
        resolve_device("cuda:0")

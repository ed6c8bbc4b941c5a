"""Which compute device to use, and how to name it for a person."""

from __future__ import annotations

import torch

from model.common.task import TaskState


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' means the first CUDA GPU when there is one, else the CPU."""
    if name in ("auto", "", None):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for, but no CUDA GPU is available")
    return device


def available_devices() -> list[tuple[str, str]]:
    """(device name, description) for the CPU and each CUDA GPU. A GPU whose driver will not
    describe it is named with the reason, not dropped and not allowed to hide the others: the
    technician sees that it is there and why training on it may fail."""
    devices = [("cpu", "CPU")]
    for index in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        try:
            props = torch.cuda.get_device_properties(index)
        except (RuntimeError, AssertionError) as error:  # what torch raises for a driver fault
            devices.append((f"cuda:{index}", f"GPU {index} (its driver does not answer: {error})"))
        else:
            devices.append((f"cuda:{index}", f"{props.name} ({props.total_memory / 2**30:.0f} GiB)"))
    return devices


def device_choices(state: TaskState) -> list[tuple[str, str]]:
    """`available_devices` as a background task (a window lists them without importing torch)."""
    return available_devices()


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "CPU"

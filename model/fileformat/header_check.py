"""Checks on a model file's JSON metadata: every field's type, range and size, before anything
is built from it. A field that fails says which field and why (`HeaderError`)."""

from __future__ import annotations

import math
from typing import Any

# Bounds that no real model comes near and that keep a crafted file from costing memory.
MAX_CLASSES = 64
MAX_CLASS_NAME = 100
MAX_MEMBERS = 8
MAX_INPUT_SIDE = 1024
MIN_INPUT_SIDE = 16
MAX_TEXT = 20_000


class HeaderError(ValueError):
    pass


def text(data: dict, key: str, default: str | None = None, *, limit: int = MAX_TEXT) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise HeaderError(f"'{key}' must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise HeaderError(f"'{key}' is {len(value)} characters long; at most {limit} are allowed")
    return value


def whole_number(data: dict, key: str, low: int, high: int, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise HeaderError(f"'{key}' must be a whole number, not {json_type(value)}")
    if not low <= value <= high:
        raise HeaderError(f"'{key}' is {value}; it must be between {low} and {high}")
    return value


def finite_numbers(data: dict, key: str, count: int, *, positive: bool = False) -> tuple[float, ...]:
    value = data.get(key)
    if not isinstance(value, list) or len(value) != count:
        raise HeaderError(f"'{key}' must be a list of {count} numbers")
    numbers = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            raise HeaderError(f"'{key}' holds {item!r}; only finite numbers are allowed")
        if positive and item <= 0:
            raise HeaderError(f"'{key}' holds {item}; each must be above 0")
        numbers.append(float(item))
    return tuple(numbers)


def fraction(data: dict, key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value <= 1):
        raise HeaderError(f"'{key}' must be a number above 0 and at most 1, not {value!r}")
    return float(value)


def mapping(data: dict, key: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise HeaderError(f"'{key}' must be an object, not {json_type(value)}")
    return value


MAX_ADAPTATIONS = 100


def records(data: dict, key: str, limit: int = MAX_ADAPTATIONS) -> list[dict]:
    """A list of objects (an adaptation chain), at most `limit` long."""
    value = data.get(key) or []
    if not isinstance(value, list) or len(value) > limit or not all(isinstance(v, dict) for v in value):
        raise HeaderError(f"'{key}' must be a list of at most {limit} objects, not {json_type(value)}")
    return value


def class_names(data: dict) -> list[str]:
    value = data.get("classes")
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_CLASSES:
        raise HeaderError(f"the class list is missing or has fewer than 2 or more than {MAX_CLASSES} names")
    names = []
    for name in value:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_CLASS_NAME:
            raise HeaderError(f"class name {name!r} is not a name of 1 to {MAX_CLASS_NAME} characters")
        names.append(name)
    folded = [name.casefold() for name in names]
    if len(set(folded)) != len(folded):
        raise HeaderError("two classes have the same name")
    return names


def json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )

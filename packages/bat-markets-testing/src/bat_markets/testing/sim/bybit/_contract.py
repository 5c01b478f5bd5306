"""Contract checks: does a payload have the keys and JSON types of a recorded venue payload?"""

from __future__ import annotations

__all__ = ["json_type", "shape_errors", "assert_shape"]


def json_type(value: object) -> str:
    """The JSON type name of a decoded value (``bool`` is not ``int``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "dict"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def shape_errors(
    ours: object, ref: object, path: str = "$", *, open_maps: frozenset[str] = frozenset()
) -> list[str]:
    """Differences where ``ours`` lacks a key of ``ref`` or has another JSON type there.

    Extra keys in ``ours`` are allowed (newer venue versions add fields). Lists compare their
    first elements when both are non-empty. ``open_maps`` names keys holding free-form maps
    (e.g. ``cumFeeDetail`` keyed by coin), compared only as maps.
    """
    errors: list[str] = []
    to, tr = json_type(ours), json_type(ref)
    if to != tr:
        return [f"{path}: {to} where the venue sends {tr}"]
    if isinstance(ref, dict) and isinstance(ours, dict):
        for key, value in ref.items():
            if key not in ours:
                errors.append(f"{path}: missing key {key!r}")
            elif key in open_maps:
                if not isinstance(ours[key], dict):
                    errors.append(f"{path}.{key}: not a map")
            else:
                errors.extend(shape_errors(ours[key], value, f"{path}.{key}", open_maps=open_maps))
    elif isinstance(ref, list) and isinstance(ours, list) and ref and ours:
        errors.extend(shape_errors(ours[0], ref[0], f"{path}[0]", open_maps=open_maps))
    return errors


def assert_shape(ours: object, ref: object, *, open_maps: frozenset[str] = frozenset()) -> None:
    """Raise ``AssertionError`` listing every shape difference (see :func:`shape_errors`)."""
    errors = shape_errors(ours, ref, open_maps=open_maps)
    if errors:
        raise AssertionError("payload shape differs from the venue's:\n  " + "\n  ".join(errors))

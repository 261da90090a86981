"""The one cattrs converter: every public type to and from JSON-ready data (and TOML).

>>> from peertrain.rules.convert import converter
>>> from peertrain.rules.windows import Rolling
>>> converter.unstructure(Rolling(12), Window)
{'kind': 'rolling', 'months': 12}

Conventions: dates are ISO strings (``"2026-06-30"``); hours are JSON numbers; enums are their
values; sets are sorted lists; requirements and windows carry a ``kind`` tag naming their class.
Structuring is strict: a key the type does not have, text where a number belongs, or an unknown
``kind`` is an error naming the path. The same shapes are the TOML format of rule packs.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import cattrs
import cattrs.errors
import cattrs.gen
from attrs import Factory, frozen
from cattrs.preconf.json import make_converter as _make_json_converter

from peertrain.rules.catalog import Catalogue, Track
from peertrain.rules.model import Course, parse_iso_date
from peertrain.rules.requirements import (
    AllOf,
    AnyOf,
    Certificate,
    Hours,
    NOf,
    Recurring,
    Requirement,
    Topics,
)
from peertrain.rules.windows import AllTime, AnySpan, Periodic, Rolling, Window

__all__ = ["REQUIREMENT_KINDS", "WINDOW_KINDS", "converter", "dumps", "loads", "make_converter"]

T = TypeVar("T")

#: ``kind`` tag -> requirement class.
REQUIREMENT_KINDS: Mapping[str, type] = {
    "hours": Hours,
    "topics": Topics,
    "certificate": Certificate,
    "n_of": NOf,
    "recurring": Recurring,
    "all_of": AllOf,
    "any_of": AnyOf,
}
#: ``kind`` tag -> window class.
WINDOW_KINDS: Mapping[str, type] = {
    "all_time": AllTime,
    "rolling": Rolling,
    "any_span": AnySpan,
    "periodic": Periodic,
}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _structure_decimal(value: Any, _type: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TypeError(f"expected a number, got {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None


def _structure_date(value: Any, _type: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise TypeError(f"expected a date (YYYY-MM-DD), got the date-time {value!r}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return parse_iso_date(value)
        except ValueError:
            raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}") from None
    raise TypeError(f"expected a date (YYYY-MM-DD), got {value!r}")


def _structure_enum(value: Any, cls: Any) -> Any:
    if not isinstance(value, str):
        raise TypeError(f"expected one of {', '.join(m.value for m in cls)}, got {value!r}")
    return cls(value)


@frozen
class _CatalogueData:
    """The JSON shape of a :class:`Catalogue` (structured strictly, then built)."""

    courses: list[Course] = Factory(list)
    tracks: list[Track] = Factory(list)


def _catalogue_from(data: _CatalogueData) -> Catalogue:
    return Catalogue(data.courses, data.tracks)


def _strict(kind: type, name: str) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _type: Any) -> Any:
        if type(value) is not kind and not (kind is int and isinstance(value, int) and not isinstance(value, bool)):
            raise TypeError(f"expected {name}, got {value!r}")
        return value

    return structure


def _tagged(conv: cattrs.Converter, union: Any, kinds: Mapping[str, type], what: str) -> None:
    """Structure ``union`` by its ``kind`` key; unstructure each class with its ``kind``."""
    for tag, cls in kinds.items():
        _register_tagged_class(conv, cls, tag)

    def structure(value: Any, _type: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a table with a 'kind', got {value!r}")
        kind = value.get("kind")
        cls = kinds.get(kind) if isinstance(kind, str) else None
        if cls is None:
            known = ", ".join(kinds)
            raise ValueError(f"unknown {what} kind {kind!r}; expected one of: {known}")
        return conv.structure(value, cls)

    conv.register_structure_hook_func(lambda t: t == union, structure)
    conv.register_unstructure_hook_func(
        lambda t: t == union, lambda value: conv.unstructure(value, unstructure_as=type(value))
    )


def _register_tagged_class(conv: cattrs.Converter, cls: type, tag: str) -> None:
    base_structure: Callable[[Any, Any], Any] = cattrs.gen.make_dict_structure_fn(
        cls, conv, _cattrs_forbid_extra_keys=True
    )
    base_unstructure: Callable[[Any], Any] = cattrs.gen.make_dict_unstructure_fn(cls, conv)

    def structure(value: Any, _type: Any) -> Any:
        if isinstance(value, Mapping) and "kind" in value:
            if value["kind"] != tag:
                raise ValueError(f"kind {value['kind']!r} does not match {tag!r}")
            value = {k: v for k, v in value.items() if k != "kind"}
        return base_structure(value, cls)

    def unstructure(value: Any) -> Any:
        return {"kind": tag, **base_unstructure(value)}

    conv.register_structure_hook(cls, structure)
    conv.register_unstructure_hook(cls, unstructure)


def _format_error(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return "required key missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown key(s): {', '.join(sorted(exc.extra_fields))}"
    if isinstance(exc, ValueError | TypeError) and str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, _type)


def error_messages(exc: BaseException) -> list[tuple[str, str]]:
    """``(path, message)`` pairs for a structuring error; ``path`` like ``requirements[0].hours``."""
    pairs = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_format_error):
        message, _, path = line.rpartition(" @ ")
        path = path.removeprefix("$").removeprefix(".")
        pairs.append((path, message))
    return pairs


def make_converter() -> cattrs.Converter:
    """A new converter configured for every peertrain type (see the module docs)."""
    conv = _make_json_converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict(str, "text"))
    # Text enums (Status, Role, ...) subclass str: without their own hook the str hook above would
    # take them (singledispatch follows the MRO) and pass any text through unconverted.
    conv.register_structure_hook(enum.StrEnum, _structure_enum)
    conv.register_unstructure_hook(enum.StrEnum, lambda value: value.value)
    conv.register_structure_hook(int, _strict(int, "a whole number"))
    conv.register_structure_hook(bool, _strict(bool, "true or false"))
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(Decimal, _number)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_unstructure_hook_func(
        lambda t: getattr(t, "__origin__", None) is frozenset,
        lambda value: sorted(v.value if isinstance(v, enum.Enum) else v for v in value),
    )
    conv.register_structure_hook(
        Catalogue,
        lambda value, _t: _catalogue_from(conv.structure(value, _CatalogueData)),
    )
    conv.register_unstructure_hook(
        Catalogue,
        lambda cat: {
            "courses": conv.unstructure(list(cat.courses.values()), list[Course]),
            "tracks": conv.unstructure(list(cat.tracks), list[Track]),
        },
    )
    # Before the tagged classes: their structure functions are generated (and their field hooks
    # looked up) when registered, so this hook must already be there to be used for their fields.
    conv.register_structure_hook_factory(_is_text_collection, lambda t: _text_collection_hook(conv, t))
    _tagged(conv, Window, WINDOW_KINDS, "window")
    _tagged(conv, Requirement, REQUIREMENT_KINDS, "requirement")
    return conv


def _is_text_collection(t: Any) -> bool:
    """``tuple[str, ...]``, ``frozenset[str]``, ``frozenset[SomeStrEnum]`` and the like."""
    origin, args = getattr(t, "__origin__", None), getattr(t, "__args__", ())
    if origin not in (tuple, frozenset, list) or not args:
        return False
    item = args[0]
    return item is str or (isinstance(item, type) and issubclass(item, enum.StrEnum))


def _text_collection_hook(conv: cattrs.Converter, t: Any) -> Callable[[Any, Any], Any]:
    """Structure a list of names, refusing a lone string (which would split into letters)."""
    origin, item = t.__origin__, t.__args__[0]

    def structure(value: Any, _type: Any) -> Any:
        if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
            raise TypeError(f"expected a list, got {value!r}")
        result, errors = [], []
        for index, element in enumerate(value):
            try:
                result.append(conv.structure(element, item))
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    cattrs.errors.IterableValidationNote(f"Structuring {t} @ index {index}", index, item),
                ]
                errors.append(exc)
        if errors:
            raise cattrs.errors.IterableValidationError(f"While structuring {t!r}", errors, t)
        return origin(result)

    return structure


#: The converter peertrain uses everywhere.
converter = make_converter()


def dumps(value: Any, unstructure_as: Any = None, **kwargs: Any) -> str:
    """``value`` as JSON text (kwargs go to :func:`json.dumps`, e.g. ``indent=2``)."""
    import json  # noqa: PLC0415

    return json.dumps(converter.unstructure(value, unstructure_as=unstructure_as), **kwargs)


def loads(text: str | bytes, cls: type[T]) -> T:
    """A ``cls`` from JSON text."""
    import json  # noqa: PLC0415

    return converter.structure(json.loads(text), cls)

"""Parameter sets (rows of MotionParams / RoiParams): listing, and adding one from a form."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ParameterField",
    "ParameterSet",
    "ensure_parameter_set",
    "enum_choices",
    "json_attribute",
    "parameter_fields",
    "parameter_sets",
]

#: keyword arguments a parameter set does not hold (data, callbacks, execution)
NOT_PARAMETERS = frozenset(
    {
        "movie",
        "images",
        "reference",
        "progress",
        "client",
        "workers",
        "frames_per_chunk",
        "method",
        "cancel",
    }
)
_KINDS: tuple[tuple[str, type], ...] = (
    ("bool", bool),
    ("int", int),
    ("float", float),
    ("str", str),
)


@dataclass(frozen=True)
class ParameterField:
    """One tunable keyword argument of a step's function.

    Attributes
    ----------
    name : str
    kind : type
        ``bool``, ``int``, ``float`` or ``str``.
    default : object
        The function's default; None means "chosen by the function" (automatic).
    """

    name: str
    kind: type
    default: Any = None


def _kind(annotation: Any, default: Any) -> type | None:
    if default is not None and not isinstance(default, (list, dict, tuple)):
        for _, kind in _KINDS:
            if type(default) is kind:
                return kind
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    words = set(re.findall(r"[A-Za-z_]+", str(text)))
    for name, kind in _KINDS:
        if name in words and words <= {name, "None", "Optional"}:
            return kind
    return None


def parameter_fields(function: Callable[..., Any]) -> list[ParameterField]:
    """The keyword arguments of ``function`` a parameter set can tune, with defaults.

    Arguments without a default, data and callback arguments, and arguments whose type is
    not a plain bool/int/float/str are left out.
    """
    fields = []
    for name, parameter in inspect.signature(function).parameters.items():
        if name in NOT_PARAMETERS or parameter.default is inspect.Parameter.empty:
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        kind = _kind(parameter.annotation, parameter.default)
        if kind is not None:
            fields.append(ParameterField(name, kind, parameter.default))
    return fields


def enum_choices(table: Any, attribute: str) -> list[str]:
    """The values an ``enum(...)`` attribute of ``table`` allows ([] if not an enum)."""
    attr = table.heading.attributes.get(attribute)
    if attr is None:
        return []
    declared = str(attr.original_type or attr.type)
    if not declared.lower().startswith("enum"):
        return []
    return re.findall(r"'((?:[^']|'')*)'", declared)


@dataclass(frozen=True)
class ParameterSet:
    """One row of a parameter table.

    Attributes
    ----------
    key : dict
        Its primary key, e.g. ``{"motion_params_id": 1}``.
    params : dict
        The keyword arguments of the method (the row's JSON column).
    row : dict
        The whole row (method, description, ...).
    """

    key: dict
    params: dict
    row: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        ident = ", ".join(str(v) for v in self.key.values())
        method = self.row.get("method", "")
        description = self.row.get("description", "")
        details = " - ".join(str(p) for p in (method, description) if p)
        return f"{ident}: {details}" if details else ident


def json_attribute(table: Any) -> str:
    """The JSON column holding a parameter table's parameters (``params``)."""
    attributes = table.heading.attributes
    if "params" in attributes:
        return "params"
    for name, attr in attributes.items():
        if attr.json and not attr.in_key:
            return name
    raise ValueError(f"{table.__class__.__name__} has no JSON column of parameters")


def _canonical(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def parameter_sets(table: Any) -> list[ParameterSet]:
    """Every row of the parameter table ``table`` that can be run, by primary key (sets of
    method ``imported`` record results made elsewhere, e.g. by suite2p, and are left out)."""
    column = json_attribute(table)
    sets = []
    for row in table.to_dicts(order_by=list(table.primary_key)):
        if row.get("method") == "imported":
            continue
        key = {k: row[k] for k in table.primary_key}
        sets.append(ParameterSet(key=key, params=dict(row[column] or {}), row=row))
    return sets


def ensure_parameter_set(
    table: Any,
    params: dict,
    base: ParameterSet,
    description: str = "from napari",
    **values: Any,
) -> ParameterSet:
    """The row of ``table`` with ``base``'s other attributes and these ``params``;
    inserted if new.

    A new row copies ``base``'s other attributes (e.g. ``method``), overridden by
    ``values``, and takes the next integer id.

    Parameters
    ----------
    table : DataJoint parameter table (one integer primary key attribute)
    params : dict
        JSON-serializable parameters.
    base : ParameterSet
        The set the form started from.
    description : str
        Description of a new row.
    **values
        Other attributes of the new row, e.g. ``method="piecewise"``.
    """
    column = json_attribute(table)
    wanted = _canonical(params)
    secondary = {k: v for k, v in base.row.items() if k not in table.primary_key and k != column}
    secondary.update(values)
    for existing in parameter_sets(table):
        same_rest = all(
            existing.row.get(k) == v for k, v in secondary.items() if k != "description"
        )
        if same_rest and _canonical(existing.params) == wanted:
            return existing
    from ..pipeline._parameter_ids import insert_with_next_id

    row = {**secondary, column: dict(params)}
    if "description" in table.heading.names:
        row["description"] = description[:255]
    key = insert_with_next_id(table, row)
    return ParameterSet(key=key, params=dict(params), row=(table & key).fetch1())

"""The browser's filter box: ``attribute=value`` terms turned into DataJoint restrictions.

The text is parsed into values, and values into dict restrictions; no text ever becomes
SQL. Syntax (terms separated by spaces, commas or semicolons; quotes keep spaces)::

    1                             # a bare value: the mouse id
    mouse_id=1|2                  # '|' separates alternatives (OR)
    session_date=2026-11-25 recording_num=2
    experimenter="Ann Smith"      # any non-blob attribute of the browsed tables

Different attributes combine with AND, alternatives of one attribute with OR.
"""

from __future__ import annotations

import datetime
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FilterError", "KeyFilter", "filterable_attributes"]


class FilterError(ValueError):
    """The filter text cannot be understood; the message says why, for people."""


def filterable_attributes(tables: Iterable[Any]) -> dict[str, Any]:
    """``{name: Attribute}`` of the attributes of ``tables`` a filter may use.

    Blobs, JSON, codec columns (``<photon@>``, ``<blob>``) and other non-scalar
    attributes are left out.
    """
    found: dict[str, Any] = {}
    for table in tables:
        for name, attr in table.heading.attributes.items():
            if attr.codec is not None or attr.is_blob or attr.json:
                continue
            found.setdefault(name, attr)
    return found


_INTEGER = ("int", "serial")
_REAL = ("float", "double", "real", "decimal", "numeric")


def _convert(name: str, text: str, attr: Any) -> Any:
    sql_type = str(attr.original_type or attr.type).lower()
    if not sql_type.startswith("enum"):
        try:
            if any(word in sql_type for word in _INTEGER):
                return int(text)
            if any(word in sql_type for word in _REAL):
                return float(text)
        except ValueError:
            raise FilterError(f"{name} takes a number, not {text!r}") from None
    if sql_type == "date":
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise FilterError(f"{name} takes a date like 2026-11-25, not {text!r}") from None
    return text


@dataclass(frozen=True)
class KeyFilter:
    """Parsed filter: for each attribute, the values it may take.

    Attributes
    ----------
    terms : dict
        ``{attribute: (value, ...)}``; values are Python values of the attribute's type.
    """

    terms: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, attributes: Mapping[str, Any], bare: str = "mouse_id") -> KeyFilter:
        """Parse the filter box's ``text``.

        Parameters
        ----------
        text : str
        attributes : mapping
            ``{name: datajoint Attribute}`` the filter may use (see
            :func:`filterable_attributes`).
        bare : str
            Attribute a value without ``name=`` refers to.

        Raises
        ------
        FilterError
            Unknown attribute, a value of the wrong type, or unbalanced quotes.
        """
        lexer = shlex.shlex(text or "", posix=True)
        lexer.whitespace += ",;"
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError as err:
            raise FilterError(f"cannot read the filter: {err}") from None
        terms: dict[str, list[Any]] = {}
        for token in tokens:
            name, sep, values = token.partition("=")
            if not sep:
                name, sep, values = token.partition(":")
            if not sep:
                name, values = bare, token
            name = name.strip()
            if name not in attributes:
                known = ", ".join(sorted(attributes))
                raise FilterError(f"unknown attribute {name!r}; filter by one of: {known}")
            for value in values.split("|"):
                value = value.strip()
                if not value:
                    raise FilterError(f"{name}= needs a value")
                converted = _convert(name, value, attributes[name])
                if converted not in terms.setdefault(name, []):
                    terms[name].append(converted)
        return cls({name: tuple(values) for name, values in terms.items()})

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def attributes(self) -> frozenset[str]:
        return frozenset(self.terms)

    def applies_to(self, table: Any) -> frozenset[str]:
        """The filter's attributes found in ``table``'s heading."""
        return self.attributes & set(table.heading.names)

    def restrictions(self, names: Iterable[str] | None = None) -> list[list[dict[str, Any]]]:
        """One OR-list of dict restrictions per attribute (AND between the lists).

        Parameters
        ----------
        names : iterable of str, optional
            Only these attributes (default: all).
        """
        chosen = self.attributes if names is None else self.attributes & set(names)
        return [[{name: value} for value in self.terms[name]] for name in sorted(chosen)]

    def restrict(self, table: Any) -> Any:
        """``table`` restricted by the terms whose attributes it has."""
        for alternatives in self.restrictions(self.applies_to(table)):
            table = table & alternatives
        return table

    def restrict_through(self, table: Any, tables: Iterable[Any]) -> Any | None:
        """``table`` restricted by every term, also those on attributes it lacks.

        A term on an attribute ``table`` lacks (``notes`` of a session, for a recording)
        goes through the first of ``tables`` that has it and whose primary key ``table``
        holds (an upstream table): ``table & (upstream & term).proj()``, a semijoin on
        values. None when some term reaches ``table`` through no such table: the rows it
        selects are then none of ``table``'s, and a caller must not act on all of them.
        """
        table = self.restrict(table)
        for name in sorted(self.attributes - set(table.heading.names)):
            holder = next((t for t in tables if name in t().heading.names
                           and set(t().primary_key) <= set(table.heading.names)), None)
            if holder is None:
                return None
            table = table & (holder() & [{name: v} for v in self.terms[name]]).proj()
        return table

    def as_restrictions(self, tables: Iterable[Any]) -> list[Any]:
        """The filter as DataJoint restrictions for ``populate(*restrictions)``: per
        attribute, the rows of the first of ``tables`` (dependency order: the most upstream)
        that has it, with one of its values, projected on that table's primary key. Each
        restricts a key source by the attributes they share (a semijoin on values)."""
        found = []
        for name in sorted(self.attributes):
            holder = next((t for t in tables if name in t().heading.names), None)
            if holder is None:
                raise FilterError(f"no table of the pipeline has the attribute {name!r}")
            found.append((holder() & [{name: v} for v in self.terms[name]]).proj())
        return found

    def describe(self) -> str:
        """Canonical text of the filter (round-trips through :meth:`parse`)."""
        parts = []
        for name in sorted(self.terms):
            values = "|".join(str(v) for v in self.terms[name])
            parts.append(shlex.quote(f"{name}={values}"))
        return " ".join(parts)

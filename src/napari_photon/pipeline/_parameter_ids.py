"""New rows of a parameter table (``MotionParams``, ``RoiParams``): the next free id."""

from __future__ import annotations

from typing import Any

__all__ = ["insert_with_next_id"]


def insert_with_next_id(table: Any, row: dict, attempts: int = 5) -> dict:
    """Insert ``row`` under the next free id of ``table``'s one integer key attribute.

    The id is one above every row's, whatever its method (an ``imported`` set takes its id
    as a runnable one does). Another client may take the same id between the read and the
    insert; the insert is then tried again with the next one -- outside a transaction only,
    since PostgreSQL aborts a transaction at its first failed statement (inside one, the
    ``DuplicateError`` is raised and the transaction rolls back).

    Parameters
    ----------
    table : DataJoint table with one integer primary key attribute
    row : dict
        The row's other attributes.
    attempts : int
        How many ids to try before giving up.

    Returns
    -------
    dict
        The new row's primary key.
    """
    from datajoint.errors import DuplicateError

    if len(table.primary_key) != 1:
        raise ValueError(f"{table.__class__.__name__} needs one primary key attribute")
    (id_name,) = table.primary_key
    in_transaction = table.connection.in_transaction
    for _attempt in range(attempts):
        taken = (int(key[id_name]) for key in table.proj().to_dicts())
        key = {id_name: max(taken, default=0) + 1}
        try:
            table.insert1({**row, **key})
        except DuplicateError:
            if in_transaction:
                raise
            continue
        return key
    raise RuntimeError(f"could not add a row to {table.__class__.__name__}: ids keep colliding")

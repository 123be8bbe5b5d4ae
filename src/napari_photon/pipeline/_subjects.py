"""``Mouse`` and ``Session``: the design document's subjects, with what the project adds."""

from __future__ import annotations

from pathlib import Path

import datajoint as dj

from ..db import raw_root


def session_folder(key: dict) -> Path:
    """Folder holding a session's TIFF stacks: ``<raw root>/<mouse_id>/<session_date>/``."""
    return raw_root() / str(key["mouse_id"]) / str(key["session_date"])


def declare_subjects(schema: dj.Schema) -> dict[str, type]:
    """Declare ``Mouse`` and ``Session`` in ``schema``.

    The attributes above each ``# added:`` line are the design document's, with its names
    and types; those below are the project's own and have defaults, so an insert written
    as in the design document works unchanged.
    """

    @schema
    class Mouse(dj.Manual):
        definition = """
        mouse_id : int
        ---
        strain : varchar(32)
        sex : enum('M', 'F')
        # added:
        date_of_birth=null : date
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Mouse
        session_date : date           # raw TIFFs live in <raw root>/<mouse_id>/<session_date>/
        ---
        experimenter : varchar(64)
        notes : varchar(1000)
        """

    return {"Mouse": Mouse, "Session": Session}

"""Where a recording's uncommitted curation is kept, and what its draft records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._curate_inputs import CurationInputs

__all__ = ["draft_parent", "draft_path", "draft_source"]


def draft_path(key: dict, schema: str, root: str | Path | None = None) -> Path:
    """Where the draft of a recording's curation lives (under the napari-photon home)."""
    if root is None:
        from ..db import home

        root = home() / "curation-drafts"
    name = "_".join(str(key[k]) for k in ("mouse_id", "session_date", "recording_num"))
    return Path(root) / schema / f"{name}.npz"


def draft_source(inputs: CurationInputs) -> dict:
    """What a draft of ``inputs`` records as its source: the ROI key (as strings) and the
    version it started from (``parent_curation_id``, ``parent_kind``)."""
    return {**{k: str(v) for k, v in inputs.roi_key.items()},
            "parent_curation_id": inputs.parent_curation_id, "parent_kind": inputs.parent_kind}


def draft_parent(info: Any) -> int | None:
    """The ``curation_id`` a draft started from (None: the detected set)."""
    source = info.source if isinstance(info.source, dict) else {}
    parent = source.get("parent_curation_id")
    return None if parent is None else int(parent)

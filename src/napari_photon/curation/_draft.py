"""The local draft of a curation: saved after every action, offered again on reopen.

A draft is one ``.npz`` file (numpy's zip of ``.npy`` arrays, read without pickle): the
current state as :func:`pack` arrays plus ``meta``, a JSON string::

    {"format": "napari-photon curation draft", "version": 1,
     "saved": "2026-05-04T10:31:07.123456+00:00",   # UTC, when written
     "source": {...},          # what was curated: the caller's JSON value (a table key)
     "base": "<sha1>",         # fingerprint of the set the curation started from
     "history": ["merge", "set_label", ...],         # actions that led to this state
     "shape": [512, 512], "n_rois": 1234}

Each save writes a temporary file in the same folder, flushes and fsyncs it, and renames
it over the draft (``os.replace``, atomic), then fsyncs the folder: a reader sees the old
draft or the new one, never a torn file, and a process killed at any moment leaves the
state after its last completed save. Summary images are not saved; pass them again on
load.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..rois import SummaryImages
from ._errors import CurationError
from ._packing import pack, unpack
from ._roiset import RoiSet

__all__ = ["Draft", "DraftInfo", "discard_draft", "draft_path", "drafts_for", "load_draft",
           "read_draft_info", "save_draft"]

FORMAT = "napari-photon curation draft"
VERSION = 1


@dataclass(frozen=True)
class DraftInfo:
    """What a draft holds, read without loading its ROIs.

    Attributes
    ----------
    path : Path
    source : JSON value
        What was curated (as given to :func:`save_draft`).
    base : str or None
        Fingerprint of the set the curation started from.
    saved : datetime.datetime
        When it was written (UTC).
    history : tuple of str
        Names of the actions that led to the saved state.
    n_rois : int
    """

    path: Path
    source: Any
    base: str | None
    saved: datetime.datetime
    history: tuple[str, ...]
    n_rois: int


@dataclass(frozen=True)
class Draft:
    """A loaded draft: its :class:`DraftInfo` and the saved state."""

    info: DraftInfo
    state: RoiSet


def _canonical(source: Any) -> str:
    try:
        return json.dumps(source, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError) as error:
        raise CurationError(f"a draft's source must be a JSON value: {error}") from None


def draft_path(directory: str | os.PathLike, source: Any) -> Path:
    """The draft file for ``source`` (a JSON value such as a table key) in ``directory``."""
    digest = hashlib.sha1(_canonical(source).encode()).hexdigest()[:20]
    return Path(directory) / f"curation-{digest}.npz"


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_draft(path: str | os.PathLike, state: RoiSet, *, history: Sequence[str] = (),
               source: Any = None, base: str | None = None) -> Path:
    """Write ``state`` to the draft at ``path`` atomically (see the module notes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "version": VERSION,
            "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "source": json.loads(_canonical(source)), "base": base,
            "history": list(history), "shape": list(state.shape), "n_rois": len(state)}
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **pack(state))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)
    return path


def _info(path: Path, archive: Any) -> DraftInfo:
    try:
        meta = json.loads(str(archive["meta"]))
    except (KeyError, ValueError) as error:
        raise CurationError(f"{path} is not a curation draft ({error})") from None
    if meta.get("format") != FORMAT:
        raise CurationError(f"{path} is not a curation draft")
    if meta.get("version") != VERSION:
        raise CurationError(f"{path} is a version {meta.get('version')} draft; this "
                            f"napari-photon reads version {VERSION}")
    return DraftInfo(path=path, source=meta["source"], base=meta.get("base"),
                     saved=datetime.datetime.fromisoformat(meta["saved"]),
                     history=tuple(meta["history"]), n_rois=int(meta["n_rois"]))


def _open(path: Path) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise CurationError(f"{path} is not a readable curation draft ({error})") from None


def read_draft_info(path: str | os.PathLike) -> DraftInfo:
    """The :class:`DraftInfo` of the draft at ``path``, without loading its ROIs."""
    path = Path(path)
    with _open(path) as archive:
        return _info(path, archive)


def load_draft(path: str | os.PathLike, images: SummaryImages | None = None) -> Draft:
    """The draft at ``path``, its state given ``images`` as context."""
    path = Path(path)
    with _open(path) as archive:
        info = _info(path, archive)
        state = unpack({key: archive[key] for key in archive.files if key != "meta"}, images)
    return Draft(info, state)


def drafts_for(directory: str | os.PathLike, source: Any = None) -> list[DraftInfo]:
    """Drafts in ``directory`` (of ``source`` only, when given), newest first.

    Files that are not readable drafts (and temporary files of an interrupted save) are
    passed over.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    wanted = None if source is None else _canonical(source)
    found = []
    for path in directory.glob("*.npz"):
        if path.name.startswith("."):
            continue
        try:
            info = read_draft_info(path)
        except (CurationError, OSError):
            continue
        if wanted is None or _canonical(info.source) == wanted:
            found.append(info)
    return sorted(found, key=lambda info: info.saved, reverse=True)


def discard_draft(path: str | os.PathLike) -> None:
    """Delete the draft at ``path`` (after its curation is committed); no error if gone."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)

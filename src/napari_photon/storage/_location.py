"""Where a photon zarr lives: a folder on disk, or a path inside a DataJoint store."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zarr
from zarr.storage import FsspecStore, LocalStore


@dataclass(frozen=True)
class ZarrLocation:
    """A zarr array's location.

    Parameters
    ----------
    path : str
        Path inside the store (a DataJoint store path), or a local folder path.
    backend : datajoint StorageBackend or None
        The DataJoint store's backend; None for a plain local folder.
    store_name : str
        The DataJoint store's name ("" for a plain folder).
    """

    path: str
    backend: Any = None
    store_name: str = ""

    @classmethod
    def local(cls, folder: str | Path) -> ZarrLocation:
        return cls(path=str(Path(folder).resolve()))

    @property
    def is_local(self) -> bool:
        return self.backend is None or self.backend.protocol == "file"

    @property
    def local_path(self) -> Path:
        if self.backend is None:
            return Path(self.path)
        return Path(self.backend._full_path(self.path))

    def zarr_store(self, *, read_only: bool) -> zarr.abc.store.Store:
        if self.is_local:
            return LocalStore(self.local_path, read_only=read_only)
        return FsspecStore.from_mapper(self.backend.get_fsmap(self.path), read_only=read_only)

    def open_array(self) -> zarr.Array:
        return zarr.open_array(self.zarr_store(read_only=True), mode="r")

    def exists(self) -> bool:
        if self.is_local:
            return self.local_path.exists()
        return self.backend.exists(self.path)

    def remove(self) -> None:
        """Remove the zarr and everything under it; no error when it is absent."""
        if self.is_local:
            shutil.rmtree(self.local_path, ignore_errors=True)
            _prune_empty_parents(self.local_path, self.backend)
        elif self.backend.exists(self.path):
            self.backend.remove_folder(self.path)

    def stored_nbytes(self) -> int:
        if self.is_local:
            return sum(f.stat().st_size for f in self.local_path.rglob("*") if f.is_file())
        fs = self.backend.fs
        return int(fs.du(self.backend._full_path(self.path), total=True))

    # -- raw objects under the array (whole shards, see ``_shards``) ------------------------
    def _object_path(self, key: str) -> str:
        if self.is_local:
            return str(self.local_path / key)
        return f"{self.backend._full_path(self.path).rstrip('/')}/{key}"

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` as the object ``key`` under the array (replacing it)."""
        target = self._object_path(key)
        if self.is_local:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_bytes(data)
        else:
            self.backend.fs.pipe_file(target, data)

    def read_bytes(self, key: str, start: int | None = None, end: int | None = None
                   ) -> bytes | None:
        """Bytes ``[start, end)`` of the object ``key`` (negative ``start``: that many from
        the end); None when the object does not exist."""
        target = self._object_path(key)
        if self.is_local:
            try:
                with open(target, "rb") as f:
                    if start is None:
                        return f.read()
                    f.seek(start, 2 if start < 0 else 0)
                    return f.read() if end is None else f.read(end - f.tell())
            except FileNotFoundError:
                return None
        try:  # a negative start is a suffix range: one request, no size lookup first
            return self.backend.fs.cat_file(target, start=start, end=end)
        except FileNotFoundError:
            return None

    def describe(self) -> str:
        return f"{self.store_name}:{self.path}" if self.store_name else self.path


def _prune_empty_parents(path: Path, backend: Any) -> None:
    if backend is None:
        return
    root = Path(backend._full_path("")).resolve()
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent

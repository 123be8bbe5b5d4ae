"""The ``<photon@store>`` DataJoint column type."""

from __future__ import annotations

from typing import Any

from datajoint.builtin_codecs.schema import SchemaCodec
from datajoint.errors import DataJointError

from ._checksums import CHECKSUMS_KEY
from ._location import ZarrLocation
from ._movie import PhotonMovie
from ._options import Cancelled, current_write_options
from ._quantize import CODEC_NAME
from ._relocate import Relocated
from ._scope import record_write
from ._source import MovieSource, PhotonInputError
from ._writer import CODEC_VERSION, attributes, write_movie


class PhotonCodec(SchemaCodec):
    """Photon-limited movies as compact zarr arrays in an object store.

    Insert photon counts (numpy, dask or zarr arrays of shape (t, y, x) or (t, z, y, x)),
    or ``Calibrated(levels, calibration)`` for digitizer levels. The stored form is a zarr
    v3 array of generalized-Anscombe values quantized to uint8/uint16 codes at half a noise
    standard deviation, then zstd; one shard per block of frames, one inner chunk per frame.
    Fetch returns a lazy :class:`PhotonMovie`.

    Example::

        movie : <photon@>          # default store
        movie : <photon@archive>   # a named store
    """

    name = "photon"

    def validate(self, value: Any) -> None:
        if isinstance(value, Relocated):
            return
        try:
            MovieSource(value)
        except PhotonInputError as err:
            raise DataJointError(str(err)) from None

    def encode(
        self,
        value: Any,
        *,
        key: dict | None = None,
        context: dict | None = None,
        store_name: str | None = None,
    ) -> dict:
        if isinstance(value, Relocated):  # a movie moved between stores: its row is updated
            return value.stored
        try:
            source = MovieSource(value)
        except PhotonInputError as err:
            raise DataJointError(str(err)) from None
        schema, table, field, primary_key = self._extract_context(key, context)
        config = self._codec_config(key, context)
        store_name = store_name or _default_store(config)
        path, _ = self._build_path(
            schema, table, field, primary_key, ext=".zarr", store_name=store_name, config=config
        )
        location = ZarrLocation(path, self._get_backend(store_name, config=config), store_name)
        try:
            result = write_movie(location, source, current_write_options())
        except PhotonInputError as err:
            raise DataJointError(f"{schema}.{table}.{field}: {err}") from None
        except Cancelled:
            raise
        except Exception as err:  # the store failed: full disk, unreachable endpoint...
            raise StoreWriteError(
                f"{schema}.{table}.{field}: writing the movie to store {store_name!r} "
                f"({_where(config, store_name)}) failed; no row was written: "
                f"{type(err).__name__}: {err}"
            ) from err
        record_write(location)
        return {
            **attributes(result, source),
            "codec": CODEC_NAME,
            "path": path,
            "store": store_name,
            "shape": list(result.shape),
            "dtype": "float32",
            "stored_nbytes": result.stored_nbytes,
            "codec_version": CODEC_VERSION,
            CHECKSUMS_KEY: list(result.shard_crc32c),
        }

    def decode(self, stored: dict, *, key: dict | None = None, context: dict | None = None):
        config = self._codec_config(key, context)
        backend = self._get_backend(stored.get("store"), config=config)
        return PhotonMovie(ZarrLocation(stored["path"], backend, stored.get("store", "")), stored)


class StoreWriteError(DataJointError):
    """A movie could not be written to its store; the partial zarr was removed."""


def _where(config: Any, store_name: str) -> str:
    """The store's protocol and location, never its credentials."""
    spec = config.stores.get(store_name)
    if not isinstance(spec, dict):
        return "not configured"
    place = spec.get("location", "")
    if spec.get("protocol") == "s3":
        place = f"{spec.get('endpoint', '')}/{spec.get('bucket', '')}/{place}"
    return f"{spec.get('protocol', '?')}://{place}"


def _default_store(config: Any) -> str:
    name = config.stores.get("default")
    if not isinstance(name, str) or not name:
        raise DataJointError(
            "<photon@> needs a default store: set dj.config['stores']['default'] "
            "or name a store, as in <photon@active>"
        )
    return name

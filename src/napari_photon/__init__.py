"""napari-photon: two-photon movies in a DataJoint pipeline, viewed and curated in napari."""

__version__ = "0.1.0"

# registers the <photon@> column type with DataJoint (also reachable through the
# `datajoint.codecs` entry point) and the quantize codec with zarr
from .storage import _codec  # noqa: E402,F401

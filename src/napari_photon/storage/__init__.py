"""The ``<photon@store>`` column: compact, lazily fetched photon-limited movies."""

from ._checksums import DamagedShard, verify_location
from ._codec import PhotonCodec
from ._datajoint import DryRunTable, PhotonTable, collect_garbage, photon_attributes
from ._dry_run import DryRun, dry_run
from ._location import ZarrLocation
from ._movie import PhotonCounts, PhotonMovie
from ._folder import NotAPhotonZarr, open_movie, save_movie
from ._options import Cancelled, WriteOptions, write_options
from ._quantize import AnscombeQuantize, CodeOverflowError
from ._relocate import MoveError, MoveResult, move_movie
from ._scope import remove_on_failure
from ._shards import CorruptShard
from ._source import Calibrated, PhotonInputError, Stabilized

__all__ = [
    "AnscombeQuantize",
    "Calibrated",
    "Cancelled",
    "CodeOverflowError",
    "CorruptShard",
    "DamagedShard",
    "DryRun",
    "DryRunTable",
    "MoveError",
    "MoveResult",
    "NotAPhotonZarr",
    "PhotonCodec",
    "PhotonCounts",
    "PhotonInputError",
    "PhotonMovie",
    "PhotonTable",
    "collect_garbage",
    "dry_run",
    "move_movie",
    "photon_attributes",
    "WriteOptions",
    "ZarrLocation",
    "open_movie",
    "remove_on_failure",
    "save_movie",
    "Stabilized",
    "verify_location",
    "write_options",
]

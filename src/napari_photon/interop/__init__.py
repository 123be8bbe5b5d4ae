"""Other formats in and out: NWB export (pynwb, the ``nwb`` extra)."""

from ._nwb import NwbExportError, export_recording

__all__ = ["NwbExportError", "export_recording"]

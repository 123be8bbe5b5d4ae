"""Reading raw acquisitions: TIFF stacks and ScanImage acquisitions as lazily paged movies.

No DataJoint here; the pipeline's ``Recording`` import uses these readers.

Example
-------
>>> from napari_photon.io import TiffMovie, load_tiff_stack
>>> with TiffMovie.open("session/a.tif") as tiff:
...     tiff.shape, tiff.frame_rate
>>> movie = load_tiff_stack("session/a.tif")   # the whole stack, as a numpy array
"""

from ._scanimage import (
    ScanImageAcquisition,
    ScanImageLayout,
    ScanImageMovie,
    group_acquisitions,
    is_scanimage,
    is_scanimage_acquisition,
)
from ._tiff import (
    CALIBRATION_PROPERTY,
    TiffImportError,
    TiffMovie,
    calibration_properties,
    load_tiff_stack,
)

__all__ = [
    "CALIBRATION_PROPERTY",
    "ScanImageAcquisition",
    "ScanImageLayout",
    "ScanImageMovie",
    "group_acquisitions",
    "is_scanimage",
    "is_scanimage_acquisition",
    "TiffImportError",
    "TiffMovie",
    "calibration_properties",
    "load_tiff_stack",
]

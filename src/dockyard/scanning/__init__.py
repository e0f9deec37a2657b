"""Image scanning: the package inventory of an image's layers (and, beside it, vulnerability
data and matching).

This package reads layer streams and parses package databases; it knows nothing of storage,
the metadata database or the API. The services layer hands it (media type, opener) pairs.
"""

from __future__ import annotations

from dockyard.scanning.inventory import (
    Inventory,
    OsRelease,
    Package,
    build_inventory,
    normalize_python_name,
    os_ecosystem,
)
from dockyard.scanning.layers import SUPPORTED_LAYER_MEDIA_TYPES, ScanLimits

__all__ = [
    "SUPPORTED_LAYER_MEDIA_TYPES",
    "Inventory",
    "OsRelease",
    "Package",
    "ScanLimits",
    "build_inventory",
    "normalize_python_name",
    "os_ecosystem",
]

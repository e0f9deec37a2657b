"""The OCI distribution API (``/v2``)."""

from dockyard.api.oci.routes import oci_routes

__all__ = ["oci_routes"]

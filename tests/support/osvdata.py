"""Where the real OSV test data lives: ``tests/data/vulndb`` in the checkout (see its README).

Kept inside the repository so that a plain clone runs every test without anything beside it.
"""

from __future__ import annotations

from pathlib import Path

VULNDB_DATA = Path(__file__).resolve().parents[1] / "data" / "vulndb"
PYPI_ZIP = VULNDB_DATA / "osv-pypi.zip"
DEBIAN_ZIP = VULNDB_DATA / "osv-debian12.zip"

"""Registry metadata in SQL (SQLite or PostgreSQL) through SQLAlchemy."""

from dockyard.metadata.store import MetadataStore, open_metadata_store

__all__ = ["MetadataStore", "open_metadata_store"]

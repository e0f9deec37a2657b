"""Secrets Manager (a minimal part of it) as a door of the shared AWS endpoint."""

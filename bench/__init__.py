"""Dockyard benchmark suite: `python -m bench --help`."""

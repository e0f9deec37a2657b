"""Dockyard: a self-hosted container registry that behaves like Amazon ECR."""

__version__ = "0.1.0"

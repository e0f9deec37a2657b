"""The registry's behaviour: the only layer with both rules and I/O."""

from dockyard.services.registry import Registry, RegistrySettings

__all__ = ["Registry", "RegistrySettings"]

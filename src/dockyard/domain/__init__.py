"""Values and pure rules of the registry: standard library only."""

"""The indicator registry: declarative definitions (YAML + SQL), validation and the engine."""

from observatory.registry.loader import Registry, load_registry
from observatory.registry.spec import IndicatorSpec

__all__ = ["IndicatorSpec", "Registry", "load_registry"]

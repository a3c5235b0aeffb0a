"""Packages whose public names load on first use (PEP 562), for a command line that starts fast.

A package lists each public name and the submodule that defines it and calls `lazy` from
its __init__; `from package import name` and `package.name` then import that submodule
only when asked. Where a public name is also a submodule's name (a function `evaluate` in
`evaluate.py`), the function stays bound even after the submodule is imported, as it was
with eager imports.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
from typing import Any


def lazy(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """Make `package` load `exports` (name -> submodule) on first use; its __getattr__."""
    module = sys.modules[package]

    def getattr_(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        elif importlib.util.find_spec(f"{package}.{name}") is not None:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(module, name, value)
        return value

    class Package(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            if exports.get(name) == name and isinstance(value, types.ModuleType):
                value = getattr(value, name)  # the function, not its same-named module
            super().__setattr__(name, value)

    module.__class__ = Package
    return getattr_

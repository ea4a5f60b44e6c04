"""Deferred imports, so `lepton --help` and `lepton --version` load only what they print.

The command modules name `api` and the plan renderers at module level; these stand-ins import
the real module on first use (a command body), never while typer builds the help.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


class LazyModule:
    """A module imported on first attribute access; `constants` are served without importing it."""

    def __init__(self, name: str, **constants: Any):
        self._name = name
        self.__dict__.update(constants)

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


def lazy_function(module: str, name: str) -> Callable[..., Any]:
    """A function that imports `module.name` when first called."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


DEFAULT_PLAN_FILE = "lepton.yaml"  # the same as lepton_cli.api.DEFAULT_PLAN_FILE (a test checks)

api = LazyModule("lepton_cli.api", DEFAULT_PLAN_FILE=DEFAULT_PLAN_FILE)

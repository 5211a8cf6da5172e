"""Name -> factory registries, so components are picked by config, not by import.

@readers.register("tonewatch.email.v1")
class EmailReader: ...

readers.get("tonewatch.email.v1")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tonewatch.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ConfigError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items


readers: Registry[Any] = Registry("reader")
classifiers: Registry[Any] = Registry("classifier")

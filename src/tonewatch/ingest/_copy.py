"""Copies and builds of the frozen schema models without pydantic's validation, for values
the ingest code itself produced (so already of the fields' types).

``replace(model, **changes)``: ``model.model_copy(update=changes)`` at half the cost.
Roles and languages copy every participant and turn of every conversation; pydantic's
``model_copy`` spends most of its time in ``copy.copy`` calls on state that the frozen schema
models do not carry (extra fields, private attributes). Like ``model_copy``, the changes are
not validated: callers pass values of the fields' types.

``construct(cls, values, fields_set)``: ``cls(**given)`` for trusted values, at a fifth of the
cost. ``values`` must name every field in the order the model declares them (the JSON output
follows that order), ``fields_set`` the fields a validated call would have been given.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__  # the models are frozen: their own __setattr__ refuses


def replace(model: M, **changes: Any) -> M:
    if model.__pydantic_extra__ or model.__pydantic_private__:
        return model.model_copy(update=changes)  # state only pydantic knows how to copy
    copied = model.__class__.__new__(model.__class__)
    _set(copied, "__dict__", {**model.__dict__, **changes})
    _set(copied, "__pydantic_fields_set__", model.__pydantic_fields_set__ | changes.keys())
    _set(copied, "__pydantic_extra__", None)
    _set(copied, "__pydantic_private__", None)
    return copied


def construct(cls: type[M], values: dict[str, Any], fields_set: Set[str]) -> M:
    built = cls.__new__(cls)
    _set(built, "__dict__", values)
    _set(built, "__pydantic_fields_set__", set(fields_set))
    _set(built, "__pydantic_extra__", None)
    _set(built, "__pydantic_private__", None)
    return built

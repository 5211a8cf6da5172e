"""``replace(model, **changes)``: ``model.model_copy(update=changes)`` at half the cost.

Roles and languages copy every participant and turn of every conversation; pydantic's
``model_copy`` spends most of its time in ``copy.copy`` calls on state that the frozen schema
models do not carry (extra fields, private attributes). Like ``model_copy``, the changes are
not validated: callers pass values of the fields' types.
"""

from __future__ import annotations

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

"""The classify stage: Turn -> TurnResult (flags with evidence, calibrated scores, tone).

``tonewatch.classify(texts)`` is the public Python API, and ``tonewatch.classify`` is also
this subpackage: once the subpackage is imported, Python binds the name to the module, so the
module itself is made callable and delegates to ``tonewatch.classify.api.classify``.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


class _CallableModule(ModuleType):
    def __call__(self, texts: Any, **kwargs: Any) -> Any:
        from tonewatch.classify.api import classify

        return classify(texts, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

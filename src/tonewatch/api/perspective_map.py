"""Perspective attributes as monotone maps of tonewatch's scores.

Each Perspective attribute is ``sigmoid(bias + sum_i w_i * logit(s_i))`` over a few tonewatch
scores ``s_i`` (flag probabilities, and ``tone:hostile``) whose meaning overlaps it, with every
``w_i >= 0``: raising a flag's score can never lower the attribute. Weights and bias are fitted
per model on held-out human-labelled corpora by ``tonewatch.api.calibrate_perspective`` and kept
in ``models/perspective-map.json``, one entry per model id (``docs/api.md`` has the fit quality).
tonewatch's own flags are served as ``TW_<LABEL>`` with their calibrated scores unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tonewatch.errors import ModelError
from tonewatch.schema import LABELS, TONES

# The inputs each attribute may draw on; the fit decides how much (possibly nothing).
INPUTS: dict[str, tuple[str, ...]] = {
    "TOXICITY": (
        "personal_attack",
        "profanity",
        "threat",
        "aggressive_accusation",
        "tone:hostile",
    ),
    "SEVERE_TOXICITY": ("personal_attack", "profanity", "threat", "tone:hostile"),
    "INSULT": ("personal_attack", "aggressive_accusation", "profanity"),
    "PROFANITY": ("profanity", "personal_attack"),
    "THREAT": ("threat", "tone:hostile"),
    "IDENTITY_ATTACK": ("personal_attack", "profanity", "threat", "tone:hostile"),
}
PERSPECTIVE_ATTRIBUTES: tuple[str, ...] = tuple(INPUTS)
TW_ATTRIBUTES: dict[str, str] = {f"TW_{label.upper()}": label for label in LABELS}
EPS = 1e-4


def input_matrix(inputs: tuple[str, ...], flags: np.ndarray, tone: np.ndarray) -> np.ndarray:
    """(n, len(inputs)) logits of the named scores; ``flags`` is (n, 12), ``tone`` (n, 4)."""
    columns = []
    for name in inputs:
        if name.startswith("tone:"):
            columns.append(tone[:, TONES.index(name.removeprefix("tone:"))])
        else:
            columns.append(flags[:, LABELS.index(name)])
    p = np.clip(np.column_stack(columns) if columns else np.zeros((len(flags), 0)), EPS, 1 - EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class AttributeMap:
    inputs: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def __call__(self, flags: np.ndarray, tone: np.ndarray) -> np.ndarray:
        z = self.bias + input_matrix(self.inputs, flags, tone) @ np.asarray(self.weights)
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict[str, Any]:
        return {"inputs": list(self.inputs), "weights": list(self.weights), "bias": self.bias}


@dataclass(frozen=True)
class PerspectiveMap:
    model_id: str
    attributes: dict[str, AttributeMap]
    path: str
    stale: bool = False  # fitted on another training run of a model with the same id

    @classmethod
    def load(
        cls, path: str | Path, model_id: str, trained_at: str | None = None
    ) -> PerspectiveMap | None:
        """The maps fitted for ``model_id``; None when the file or the model's entry is missing.
        ``stale`` when the entry was fitted on a model trained at another time than
        ``trained_at`` (retrained without re-running the calibration)."""
        path = Path(path)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entry = data["models"].get(model_id)
            if entry is None:
                return None
            attributes = {
                name: AttributeMap(
                    tuple(spec["inputs"]), tuple(map(float, spec["weights"])), float(spec["bias"])
                )
                for name, spec in entry["attributes"].items()
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{path}: not a Perspective map ({exc})") from exc
        unknown = set(attributes) - set(PERSPECTIVE_ATTRIBUTES)
        if unknown:
            raise ModelError(f"{path}: unknown attributes {sorted(unknown)} for {model_id}")
        fitted_on = entry.get("model_trained_at")
        stale = bool(trained_at and fitted_on and fitted_on != trained_at)
        return cls(model_id, attributes, str(path), stale)


def attribute_scores(
    names: list[str], flags: np.ndarray, tone: np.ndarray, mapping: PerspectiveMap | None
) -> dict[str, np.ndarray]:
    """Scores (n,) per canonical attribute name. Callers check availability first."""
    out = {}
    for name in names:
        if name in TW_ATTRIBUTES:
            out[name] = flags[:, LABELS.index(TW_ATTRIBUTES[name])]
        else:
            assert mapping is not None
            out[name] = mapping.attributes[name](flags, tone)
    return out

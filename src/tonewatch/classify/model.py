"""A trained tonewatch model: featurizer + heads + metadata, saved as a directory.

models/<name>/
  meta.json     name, version, tier, taxonomy version, labels, tones, thresholds,
                calibration, encoder package and version, data hashes, metrics
  config.toml   exactly the training config that made it
  weights/      featurizer.joblib, heads.joblib
  lexicons/     the lexicon files it was trained with (evidence and features)
  README.md     the model card
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from tonewatch.classify.features import TurnFeaturizer
from tonewatch.classify.heads import FlagHeads
from tonewatch.classify.lexicon import Hit, Lexicon
from tonewatch.classify.segment import windows
from tonewatch.errors import ModelError, NotFittedError
from tonewatch.schema import LABELS, TAXONOMY_VERSION, TONES

META_REQUIRED = ("name", "version", "tier", "taxonomy_version", "labels", "tones", "thresholds")


class RedFlagModel:
    """Scores texts: ``predict_scores(texts, langs)`` -> calibrated (n, 12) flag and (n, 4)
    tone probabilities. Long texts are windowed; a turn's flag score is its most
    flagged window's, its tone the mean over windows."""

    def __init__(
        self,
        featurizer: TurnFeaturizer,
        heads: FlagHeads,
        meta: dict[str, Any],
        *,
        window_chars: int = 1200,
        window_overlap: int = 200,
    ) -> None:
        self.featurizer = featurizer
        self.heads = heads
        self.meta = meta
        self.window_chars = window_chars
        self.window_overlap = window_overlap

    @property
    def model_id(self) -> str:
        return f"{self.meta['name']}@{self.meta['version']}"

    @property
    def lexicon(self) -> Lexicon:
        return self.featurizer.lexicon

    @property
    def thresholds(self) -> dict[str, float]:
        return self.meta["thresholds"]

    def score_windows(
        self,
        texts: Sequence[str],
        langs: Sequence[str],
        hits: Sequence[Sequence[Hit]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores of texts taken as they are (no windowing); ``hits``: their lexicon hits,
        when already found."""
        X = self.featurizer.transform(texts, langs, hits=hits)
        return self.heads.predict_proba(X)

    def predict_scores(
        self, texts: Sequence[str], langs: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        flags, tone, _ = self.predict_scores_and_hits(texts, langs)
        return flags, tone

    def predict_scores_and_hits(
        self, texts: Sequence[str], langs: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, list[list[Hit] | None]]:
        """``predict_scores`` plus the lexicon hits of each text that was one window (None for
        windowed texts), found once for the features and kept for the evidence."""
        pieces, owner = [], []
        for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
            for start, end in windows(text, self.window_chars, self.window_overlap, lang):
                pieces.append(text[start:end])
                owner.append(i)
        flags = np.zeros((len(texts), len(LABELS)))
        tone = np.zeros((len(texts), len(TONES)))
        text_hits: list[list[Hit] | None] = [None] * len(texts)
        if not pieces:
            return flags, tone, text_hits
        piece_langs = [langs[i] for i in owner]
        piece_hits = self.featurizer.find_hits(pieces, piece_langs)
        p_flags, p_tone = self.score_windows(pieces, piece_langs, piece_hits)
        owner_arr = np.asarray(owner)
        np.maximum.at(flags, owner_arr, p_flags)
        np.add.at(tone, owner_arr, p_tone)
        n_windows = np.bincount(owner_arr, minlength=len(texts))
        tone /= n_windows[:, None].clip(min=1)
        for k, i in enumerate(owner):
            if n_windows[i] == 1 and len(pieces[k]) == len(texts[i]):
                text_hits[i] = piece_hits[k]
        return flags, tone, text_hits

    # -- persistence ---------------------------------------------------------------------

    def save(
        self,
        directory: str | Path,
        *,
        config_text: str | None = None,
        lexicon_dir: str | Path | None = None,
    ) -> Path:
        directory = Path(directory)
        (directory / "weights").mkdir(parents=True, exist_ok=True)
        joblib.dump(self.featurizer, directory / "weights" / "featurizer.joblib", compress=3)
        joblib.dump(self.heads, directory / "weights" / "heads.joblib", compress=3)
        if lexicon_dir is not None:
            target = directory / "lexicons"
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(lexicon_dir, target)
        if config_text is not None:
            (directory / "config.toml").write_text(config_text, encoding="utf-8")
        (directory / "meta.json").write_text(
            json.dumps(self.meta, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        return directory

    @classmethod
    def load(
        cls, directory: str | Path, *, window_chars: int = 1200, window_overlap: int = 200
    ) -> RedFlagModel:
        directory = Path(directory)
        meta_path = directory / "meta.json"
        if not meta_path.is_file():
            raise ModelError(
                f"{directory}: not a tonewatch model (no meta.json). Train one with "
                "`tonewatch train` or point --model at models/<name>."
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        missing = [key for key in META_REQUIRED if key not in meta]
        if missing:
            raise ModelError(f"{meta_path}: missing fields {missing}")
        if str(meta["taxonomy_version"]) != TAXONOMY_VERSION:
            raise ModelError(
                f"{meta_path}: trained for taxonomy v{meta['taxonomy_version']}, "
                f"this tonewatch speaks v{TAXONOMY_VERSION}; retrain the model"
            )
        if tuple(meta["labels"]) != LABELS:
            raise ModelError(f"{meta_path}: labels {meta['labels']} differ from {list(LABELS)}")
        try:
            featurizer = joblib.load(directory / "weights" / "featurizer.joblib")
            heads = joblib.load(directory / "weights" / "heads.joblib")
        except (OSError, EOFError, ValueError) as exc:
            raise ModelError(f"{directory}/weights: cannot load ({exc})") from exc
        if not hasattr(heads, "heads_"):
            raise NotFittedError(f"{directory}: heads were saved before fit()")
        lexicon_dir = directory / "lexicons"
        if lexicon_dir.is_dir():
            featurizer.lexicon = Lexicon.from_dir(lexicon_dir)
        return cls(
            featurizer, heads, meta, window_chars=window_chars, window_overlap=window_overlap
        )

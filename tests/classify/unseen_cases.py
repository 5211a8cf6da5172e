"""Cases for the shipped default model (run by test_shipped_model.py): clear cases of every
label, spread over the eight languages, and hard negatives in every language (calm
complaints, idioms, quoted threats, neutral mentions of reviews and lawyers, paid change
requests, polite legal questions).

Written independently of ``data/annotations`` (not copied from any split), so they check that
the model generalises to new wording rather than remembering its data."""

from __future__ import annotations

FLAGGED = [
    ("en", "I know where you live, and you'd better hope we never meet in the street.", "threat"),
    (
        "de",
        "Ich weiß, wo Sie wohnen. Passen Sie gut auf sich auf, wenn Sie abends heimgehen.",
        "threat",
    ),
    ("ko", "너 어디 사는지 다 알아. 밤길 조심해라.", "threat"),
    (
        "fr",
        "Espèce d'incompétent, passez-moi quelqu'un qui sait faire son travail.",
        "personal_attack",
    ),
    (
        "es",
        "Eres un inútil total, pásame con alguien que sepa hacer su trabajo.",
        "personal_attack",
    ),
    ("pl", "Kurwa, znowu nic nie działa, co za gówniana firma.", "profanity"),
    ("ar", "شركة زبالة، خدمة خرا من أولها لآخرها.", "profanity"),
    ("en", "You people are crooks, you took my money and you know it.", "aggressive_accusation"),
    ("ka", "თაღლითები ხართ, ჩემი ფული მოიპარეთ.", "aggressive_accusation"),
    (
        "es",
        "Si no lo arreglan hoy, publico todo en Twitter y les dejo una reseña de una estrella"
        " en Google.",
        "reputation_threat",
    ),
    (
        "pl",
        "Jak tego nie naprawicie, opiszę was na wszystkich portalach z opiniami i na Facebooku.",
        "reputation_threat",
    ),
    (
        "fr",
        "Si je ne suis pas remboursé d'ici vendredi, je fais opposition auprès de ma banque.",
        "legal_threat",
    ),
    (
        "en",
        "I expect answers within ten minutes, day or night, weekends included.",
        "unreasonable_demand",
    ),
    (
        "de",
        "Ich erwarte Antworten innerhalb von zehn Minuten, rund um die Uhr, auch am Wochenende.",
        "unreasonable_demand",
    ),
    (
        "ko",
        "오늘 아침에 승인한 시안인데, 다시 보니 전부 바꿔 주세요. 색도 구성도 처음부터 다르게요.",
        "shifting_demands",
    ),
    (
        "en",
        "Your colleague promised me a 50% discount on the phone, so I expect it on the invoice.",
        "promise_claim",
    ),
    (
        "es",
        "Su compañero me prometió por teléfono un descuento del 50 %, así que lo quiero en la"
        " factura.",
        "promise_claim",
    ),
    (
        "en",
        "I'll pay next month, or maybe the one after, things are tight. Stop sending reminders.",
        "payment_evasion",
    ),
    (
        "fr",
        "Je paierai le mois prochain, ou peut-être celui d'après. Arrêtez de me relancer.",
        "payment_evasion",
    ),
    (
        "en",
        "Why would I pay 900 for a few hours of clicking? My nephew could do it for free.",
        "devaluation",
    ),
    ("ar", "ليش أدفع 3000 على شغل ساعتين؟ ابن أخوي يسويه ببلاش.", "devaluation"),
    ("en", "I don't care what you recommend, just do it my way.", "dismissing_advice"),
    ("pl", "Nie obchodzi mnie, co pan radzi, proszę zrobić po mojemu.", "dismissing_advice"),
]

CLEAN = [
    ("ar", "السلام عليكم، الفاتورة فيها مبلغ غلط، ممكن تصححونها؟ شكرًا"),
    ("ar", "هذا الشغل رح يموتني، بس شكرًا على المساعدة 😂"),
    ("ka", "გამარჯობა, ინვოისში თანხა არასწორია, შეგიძლიათ გაასწოროთ? მადლობა."),
    ("ka", "დიდი მადლობა სწრაფი დახმარებისთვის, ყველაფერი მუშაობს."),
    (
        "pl",
        "Wasz kurier powiedział, że następnym razem przerzuci paczkę przez płot. Ale doszła cała.",
    ),
    (
        "de",
        "Unser Anwalt hat den Vertrag geprüft und alles ist in Ordnung, wir unterschreiben morgen.",
    ),
    ("fr", "Je vous ai laissé un avis cinq étoiles sur Google, merci encore !"),
    (
        "es",
        "Nos gustaría añadir una sección de blog; ¿nos pasan presupuesto? Pagamos la diferencia.",
    ),
    ("ko", "계약서 12조의 해지 조건이 무슨 뜻인지 설명해 주실 수 있을까요?"),
    ("en", "Third time the app crashed today. Not your fault, but could someone take a look?"),
]

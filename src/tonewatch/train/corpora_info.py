"""What each public corpus is: folder, language, licence, how its labels map onto the taxonomy,
how it is split and what it may be used for. Plain data (it is copied into ``meta.json`` and the
model card), one entry per corpus that ``tonewatch.train.corpora`` can load.

``trainable`` is False where a corpus must never reach a training config: its licence forbids
commercial use (AESLC/Enron), it has no red-flag labels (IBM customer care) or its labels are
too weak a proxy to teach a flag (CaSiNo). Those corpora serve evaluation only.
"""

from __future__ import annotations

from typing import Any

CORPUS_INFO: dict[str, dict[str, Any]] = {
    "davidson": {
        "folder": "davidson-hate-offensive",
        "lang": "en",
        "licence": "MIT",
        "mapping": "hate -> personal_attack; offensive -> profanity; neither -> clean",
        "split": "deterministic hash split (no official split)",
        "trainable": True,
        "citation": "Davidson et al. 2017, ICWSM",
    },
    "germeval2018": {
        "folder": "germeval2018",
        "lang": "de",
        "licence": "CC BY 4.0",
        "mapping": "INSULT, ABUSE -> personal_attack; PROFANITY -> profanity; OTHER -> clean",
        "split": "official test file; training file hashed into train/dev",
        "trainable": True,
        "citation": "Wiegand, Siegel, Ruppenhofer 2018, GermEval",
    },
    "germeval2025": {
        "folder": "germeval2025-26-harmful",
        "lang": "de",
        "licence": "GPL-3.0 (repository licence; no separate data licence)",
        "mapping": "vio: propensity (will to use violence oneself), call2Violence -> threat; "
        "nothing -> no threat; support/glorification/other -> threat unknown. "
        "def: TRUE (defamation/insult, StGB 185-187) -> personal_attack; FALSE -> none. "
        "c2a (call to action) maps to no flag and is not used",
        "split": "hash split by tweet id (the labelled test sets are not public)",
        "trainable": True,
        "citation": "GermEval 2025/2026 Harmful Content Detection (Communication Forensics Lab)",
    },
    "kocohub": {
        "folder": "korean-hate-speech-kocohub",
        "lang": "ko",
        "licence": "CC BY-SA 4.0",
        "mapping": "hate, offensive -> personal_attack; none -> clean (profanity unknown)",
        "split": "dev.tsv -> test (the labelled benchmark split); train.tsv hashed",
        "trainable": True,
        "citation": "Moon, Cho, Lee 2020, SocialNLP (BEEP!)",
    },
    "korean_curse": {
        "folder": "korean-curse-detection",
        "lang": "ko",
        "licence": "MIT",
        "mapping": "1 -> profanity; 0 -> clean (personal_attack unknown)",
        "split": "deterministic hash split",
        "trainable": True,
        "citation": "2runo/Curse-detection-data (GitHub)",
    },
    "arabic_offensive": {
        "folder": "arabic-offensive-vanetik",
        "lang": "ar",
        "licence": "GPL-3.0 (sources keep their own terms)",
        "mapping": "offensive & target individual -> personal_attack; vulgar -> profanity; "
        "offensive 0 -> clean",
        "split": "deterministic hash split; includes MLMA-ar as source ID2",
        "trainable": True,
        "citation": "Liebeskind, Vanetik, Litvak et al. 2024 (13 re-annotated sources)",
    },
    "mlma_en": {
        "folder": "mlma",
        "lang": "en",
        "licence": "MIT",
        "mapping": "offensive/abusive/hateful/disrespectful with target individual -> "
        "personal_attack; normal -> clean; hostility toward groups -> unknown",
        "split": "deterministic hash split",
        "trainable": True,
        "citation": "Ousidhoum et al. 2019, EMNLP",
    },
    "mlma_fr": {
        "folder": "mlma",
        "lang": "fr",
        "licence": "MIT",
        "mapping": "offensive/abusive/hateful/disrespectful with target individual -> "
        "personal_attack; normal -> clean",
        "split": "deterministic hash split",
        "trainable": True,
        "citation": "Ousidhoum et al. 2019, EMNLP",
    },
    "mlma_ar": {
        "folder": "mlma",
        "lang": "ar",
        "licence": "MIT",
        "mapping": "offensive/abusive/hateful/disrespectful with target individual -> "
        "personal_attack; normal -> clean; hostility toward groups -> unknown",
        "split": "same split as the identical tweet in arabic_offensive (ID2), else hashed; "
        "do not train on both (same tweets)",
        "trainable": True,
        "citation": "Ousidhoum et al. 2019, EMNLP",
    },
    "ban_pl": {
        "folder": "ban-pl",
        "lang": "pl",
        "licence": "CC BY 4.0",
        "mapping": "harmful (1) -> personal_attack (weak: includes profanity); 0 -> clean",
        "split": "deterministic hash split (BAN-PL_1.zip, read in memory, never extracted)",
        "trainable": True,
        "citation": "Kołos et al. 2023, arXiv 2308.10592",
    },
    "convabuse": {
        "folder": "convabuse",
        "lang": "en",
        "licence": "CC BY 4.0",
        "mapping": "majority abusive -> personal_attack; otherwise clean",
        "split": "official train/valid/test",
        "trainable": True,
        "citation": "Cercas Curry, Abercrombie, Rieser 2021, EMNLP",
    },
    "spanish_toxicity": {
        "folder": "spanish-toxicity-goldstd",
        "lang": "es",
        "licence": "CC BY 4.0",
        "mapping": "both coders toxic -> personal_attack (weak); both not -> clean",
        "split": "deterministic hash split; rows where the coders disagree are left out",
        "trainable": True,
        "citation": "González-Bustamante & Rivera 2024, Zenodo 10.5281/zenodo.12574288",
    },
    "told_br": {
        "folder": "told-br",
        "lang": "pt",
        "licence": "CC BY-SA 4.0",
        "mapping": "insult or homophobia/racism/misogyny/xenophobia by >= 2 of 3 annotators -> "
        "personal_attack; obscene by >= 2 -> profanity; 0 votes -> clean; 1 vote -> unknown",
        "split": "deterministic hash split (the paper's split is not published)",
        "trainable": True,
        "citation": "Leite, Silva, Bontcheva, Scarton 2020, AACL-IJCNLP",
    },
    "politeness": {
        "folder": "stanford-politeness",
        "lang": "en",
        "licence": "Apache-2.0",
        "mapping": "tone only: top quartile -> polite, middle half -> neutral",
        "split": "deterministic hash split; bottom quartile kept for evaluation only",
        "trainable": True,
        "citation": "Danescu-Niculescu-Mizil et al. 2013, ACL",
    },
    "twitter_care": {
        "folder": "twitter-customer-care-ibm",
        "lang": "en",
        "licence": "Apache-2.0",
        "mapping": "no labels: real customer and agent tweets, used to measure how often "
        "real support traffic gets flagged (an upper bound on the false-flag rate)",
        "split": "dev.json -> dev, test.json -> test (as published)",
        "trainable": False,
        "citation": "Ganhotra et al. 2020 (IBM)",
    },
    "casino": {
        "folder": "casino-negotiation",
        "lang": "en",
        "licence": "CC BY 4.0",
        "mapping": "no red-flag labels: role-played campsite negotiation, a weak proxy for "
        "demands; research and evaluation only (flag rates per negotiation strategy)",
        "split": "official train/valid/test dialogues",
        "trainable": False,
        "citation": "Chawla et al. 2021, NAACL (CaSiNo)",
    },
    "aeslc_enron": {
        "folder": "aeslc-enron",
        "lang": "en",
        "licence": "CC BY-NC-SA 4.0 (non-commercial)",
        "mapping": "no labels: clean business email, used only to measure false flags; "
        "never used for training (non-commercial licence)",
        "split": "official AESLC train/dev/test",
        "trainable": False,
        "citation": "Zhang & Tetreault 2019, ACL (AESLC)",
    },
}

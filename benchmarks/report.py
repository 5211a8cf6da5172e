"""Report over 10,000 conversations from stored turn results, without rescoring.

    .venv/bin/python benchmarks/report.py [--conversations 10000] [--clients 1500] [--keep DIR]

Builds a synthetic archive (emails, chats and calls of ``--clients`` clients over 12 weeks, in
the eight languages, client timezones from UTC-5 to UTC+9), writes it as ``tonewatch ingest``
output (conversations.jsonl) and ``tonewatch classify`` output (results.jsonl, one line per
turn, staff turns included), then times ``tonewatch report --from-results``: reading both
files, joining by turn id, aggregating, and writing clients.json, index.html, summary.md and
one HTML page with its SVG timeline per client. Prints seconds and conversations/s.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tonewatch.config import default_config
from tonewatch.io import open_writer
from tonewatch.report.pipeline import run_report
from tonewatch.schema import (
    FAMILY_OF,
    LABELS,
    Channel,
    Conversation,
    Evidence,
    Flag,
    Label,
    Location,
    Participant,
    Role,
    Tone,
    ToneResult,
    Turn,
    TurnResult,
)

START = datetime(2025, 1, 6, 9, 0)  # a Monday
WEEKS = 12
CLIENT_LINES = {
    "en": ("Any update on the invoice?", "You people are useless idiots.", "Thanks, that works."),
    "pl": ("Kiedy będzie gotowe?", "Jesteście bandą idiotów.", "Dziękuję, wszystko działa."),
    "de": ("Wann kommt die Rechnung?", "Sie sind unfähige Idioten.", "Danke, passt so."),
    "fr": ("Où en est la facture ?", "Vous êtes des incompétents.", "Merci, c'est parfait."),
    "es": ("¿Cuándo estará listo?", "Son ustedes unos inútiles.", "Gracias, todo bien."),
    "ar": ("متى يصل الموقع؟", "أنتم فاشلون تماماً.", "شكراً، كل شيء جيد."),
    "ko": ("언제 완료되나요?", "정말 무능하시네요.", "감사합니다, 좋습니다."),
    "ka": ("როდის იქნება მზად?", "თქვენ უვარგისები ხართ.", "მადლობა, ყველაფერი კარგადაა."),
}
STAFF_LINE = "Thanks for your message. Could you please send the signed order form?"


def _tone(label: Tone) -> ToneResult:
    return ToneResult(label=label, level=label.level, scores={t: float(t == label) for t in Tone})


def _result(turn: Turn, label: str | None, model: str) -> TurnResult:
    scores = dict.fromkeys(LABELS, 0.02)
    flags: tuple[Flag, ...] = ()
    if label is not None:
        scores[label] = 0.91
        evidence = Evidence.from_span(turn.text, 0, len(turn.text))
        flags = (Flag(label=Label(label), score=0.91, evidence=(evidence,)),)
    tone = Tone.hostile if label and FAMILY_OF[label] == "abuse" else Tone.neutral
    return TurnResult(
        id=turn.id, lang=turn.lang, tone=_tone(tone), scores=scores, flags=flags, model=model
    )


def synthesize(n_conversations: int, n_clients: int, seed: int = 13):
    """(conversation, results) pairs; some clients escalate over the weeks, most never."""
    rng = random.Random(seed)
    languages = list(CLIENT_LINES)
    clients = []
    for k in range(n_clients):
        lang = languages[k % len(languages)]
        tz = timezone(timedelta(hours=rng.choice([-5, 0, 1, 2, 4, 9])))
        risk = rng.random()
        kind = "escalating" if risk < 0.05 else "bad_day" if risk < 0.15 else "calm"
        clients.append((f"client{k:05d}@example.com", f"Client {k}", lang, tz, kind))
    weights = [1 / (k + 1) ** 0.6 for k in range(n_clients)]  # a few clients write a lot
    for n in range(n_conversations):
        address, name, lang, tz, kind = rng.choices(clients, weights)[0]
        week = rng.randrange(WEEKS)
        when = START + timedelta(weeks=week, days=rng.randrange(7), hours=rng.randrange(14))
        when = when.replace(tzinfo=tz)
        channel = rng.choice([Channel.email, Channel.email, Channel.chat, Channel.call])
        path = {"email": "archive.mbox", "chat": "chat.jsonl", "call": f"call-{n}.vtt"}
        turns, results = [], []
        for i in range(rng.randint(2, 8)):
            is_client = i % 2 == 0
            if is_client:
                p_flag = {"escalating": week / WEEKS, "bad_day": 0.6 * (week == 7)}.get(kind, 0.01)
                label = rng.choice(LABELS) if rng.random() < p_flag else None
                text = CLIENT_LINES[lang][1 if label else rng.choice((0, 2))]
            else:
                label, text = None, STAFF_LINE
            turn = Turn(
                id=f"c{n}:{i}",
                speaker=name if is_client else "Anna Weber",
                role=Role.client if is_client else Role.agent,
                text=text,
                timestamp=when + timedelta(minutes=17 * i),
                lang=lang if is_client else "en",
                lang_confidence=0.9,
                source=Location(path=path[channel.value], item=n, message_id=f"<m{n}.{i}@x>"),
            )
            turns.append(turn)
            results.append(_result(turn, label, "tonewatch-base-synthetic"))
        conversation = Conversation(
            id=f"c{n}",
            channel=channel,
            client_key=address,
            participants=(Participant(name=name, addresses=(address,), role=Role.client),),
            turns=tuple(turns),
            source=Location(path=path[channel.value]),
        )
        yield conversation, results


def _cpu_seconds() -> float:
    """User + system time of this process and its finished children (the page workers)."""
    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=1_500)
    parser.add_argument("--keep", type=Path, help="write the inputs and the report here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="tonewatch-report-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    conversations, results = work / "conversations.jsonl", work / "results.jsonl"
    started = time.perf_counter()
    turns = 0
    with open_writer(conversations) as writer, results.open("w", encoding="utf-8") as out:
        for conversation, turn_results in synthesize(args.conversations, args.clients):
            writer.write(conversation)
            for result in turn_results:
                out.write(json.dumps(result.to_contract(), ensure_ascii=False) + "\n")
            turns += len(turn_results)
    print(
        f"stored {args.conversations:,} conversations, {turns:,} turn results "
        f"in {time.perf_counter() - started:.1f}s -> {work}"
    )
    started, cpu = time.perf_counter(), _cpu_seconds()
    run = run_report([conversations], work / "reports", default_config(), from_results=results)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"report: {run.clients:,} clients, {run.conversations:,} conversations, "
        f"{run.client_turns:,} client turns, {run.files.pages:,} pages"
    )
    print(f"seconds: {seconds:.1f} (CPU {cpu:.1f} s, page-drawing workers included)")
    print(f"conversations/s: {run.conversations / seconds:,.0f}")
    print(f"peak RSS: {peak:,.0f} MB")


if __name__ == "__main__":
    main()

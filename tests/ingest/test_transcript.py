"""Call transcripts: WebVTT, SRT, "Speaker: text", Whisper and AWS Transcribe JSON; merging
of consecutive same-speaker segments, markers, call start times and broken files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import tonewatch.ingest.asr_json
import tonewatch.ingest.transcript  # noqa: F401  (registers the readers)
from tonewatch.config import IngestConfig, default_config
from tonewatch.ingest.transcript import Segment, call_conversation, markers_of
from tonewatch.registry import readers
from tonewatch.schema import Channel, Conversation, QuarantineRecord, Role

CET = timezone(timedelta(hours=1))


def read(name: str, path: Path, cfg: IngestConfig | None = None) -> list:
    return list(readers.get(name)().read(path, cfg or default_config().ingest))


def the_call(items: list) -> Conversation:
    (call,) = [c for c in items if isinstance(c, Conversation)]
    return call


def problems(items: list) -> list[QuarantineRecord]:
    return [q for q in items if isinstance(q, QuarantineRecord)]


@pytest.fixture(scope="module")
def calls(fixtures_dir: Path) -> Path:
    return fixtures_dir / "transcript"


# --- merging (hand-built segments) --------------------------------------------------------------


def test_transcript_merges_consecutive_segments_of_one_speaker() -> None:
    segments: list[Segment | None] = [
        Segment("Anna", "Guten Tag.", line=3, cue="1", start_s=0.0, end_s=1.5),
        Segment("Ben", "Hallo,", line=6, cue="2", start_s=1.8, end_s=2.4),
        Segment("Ben", "ich habe eine Frage.", line=9, cue="3", start_s=2.5, end_s=4.0),
        Segment("Ben", "[Pause]", line=12, cue="4", start_s=4.2, end_s=6.0),
        Segment("Anna", "Bitte.", line=15, cue="5", start_s=6.1, end_s=6.6),
    ]
    call = call_conversation(Path("calls/0412.vtt"), segments, None)
    assert call.id.startswith("0412-") and call.channel is Channel.call and call.client_key == ""
    assert [(t.speaker, t.text) for t in call.turns] == [
        ("Anna", "Guten Tag."),
        ("Ben", "Hallo, ich habe eine Frage. [Pause]"),
        ("Anna", "Bitte."),
    ]
    ben = call.turns[1]
    assert ben.id == f"{call.id}:1"
    assert (ben.source.line, ben.source.cue) == (6, "2")  # where the turn starts
    assert ben.meta == {
        "lines": [6, 9, 12],
        "start_s": 1.8,
        "end_s": 6.0,
        "cues": ["2", "3", "4"],
        "markers": ["Pause"],
    }
    assert ben.timestamp is None and ben.role is Role.unknown and ben.lang == "und"
    assert [p.name for p in call.participants] == ["Anna", "Ben"]


def test_transcript_never_merges_unknown_speakers_or_across_a_quarantined_cue() -> None:
    segments: list[Segment | None] = [
        Segment("", "Hello?", line=1),
        Segment("", "Hello, can you hear me?", line=2),
        Segment("Agent", "Your ticket is open.", line=3),
        None,  # a cue that could not be read: its speaker is unknown
        Segment("Agent", "Anything else?", line=5),
    ]
    call = call_conversation(Path("x.txt"), segments, None)
    assert [t.text for t in call.turns] == [
        "Hello?",
        "Hello, can you hear me?",
        "Your ticket is open.",
        "Anything else?",
    ]
    assert call.participants[0].name == "Agent"  # no participant for the unknown speaker


def test_transcript_markers_are_bracketed_or_whole_parenthesised_text() -> None:
    assert markers_of("Hello? [no answer] [silence]") == ["no answer", "silence"]
    assert markers_of("(client did not join)") == ["client did not join"]
    assert markers_of("I mean the invoice (the March one), not the order") == []


# --- WebVTT -------------------------------------------------------------------------------------


def test_webvtt_voice_tags_german_call_with_start_time(calls: Path) -> None:
    items = read("tonewatch.webvtt.v1", calls / "de_call_voice.vtt")
    assert problems(items) == []
    call = the_call(items)
    assert [t.speaker for t in call.turns] == [
        "Jana Krüger",
        "Markus Schmidt",
        "Jana Krüger",
        "Markus Schmidt",
        "Jana Krüger",
    ]
    complaint = call.turns[1]  # cues 2 and 3 of one speaker
    assert complaint.text == (
        "Ja, guten Morgen. Ich rufe jetzt zum dritten Mal wegen meiner Nebenkostenabrechnung an. "
        "Die Nachzahlung von 640 Euro ist einfach falsch & ich zahle das nicht."
    )
    assert complaint.meta["cues"] == ["2", "3"]
    assert (complaint.meta["start_s"], complaint.meta["end_s"]) == (5.1, 14.5)
    assert str(complaint.source) == f"{calls / 'de_call_voice.vtt'}: line 12, cue 2"
    # NOTE Call-Start: 09:30 +01:00, cue at 5.1 s.
    assert complaint.timestamp == datetime(2024, 3, 12, 9, 30, 5, 100000, tzinfo=CET)
    assert call.meta["call_start"] == "2024-03-12T09:30:00+01:00"
    wrapped = call.turns[3]  # one voice span over two caption lines
    assert wrapped.text == (
        "[seufzt] 1002-4471. Wenn das nicht korrigiert wird, gehe ich zur Verbraucherzentrale."
    )
    assert wrapped.meta["markers"] == ["seufzt"]


def test_webvtt_speaker_prefix_french_call_without_start_time(calls: Path) -> None:
    call = the_call(read("tonewatch.webvtt.v1", calls / "fr_call_speaker.vtt"))
    assert [t.speaker for t in call.turns] == [
        "Conseiller",
        "Mme Lefèvre",
        "Conseiller",
        "Mme Lefèvre",
        "",
        "Conseiller",
    ]
    assert all(t.timestamp is None for t in call.turns)
    assert call.turns[1].text == (
        "Bonjour. Ma box ne fonctionne plus depuis vendredi, et personne ne me rappelle."
    )
    assert call.turns[3].text == "01 45 22 87 10. Je paie 45 euros par mois pour rien."
    silence = call.turns[4]
    assert silence.meta["markers"] == ["silence"] and silence.meta["start_s"] == 18.1
    assert call.turns[0].source.cue == "00:00:00.500"  # no cue id: the start time names it


def test_webvtt_broken_cues_are_quarantined_and_the_rest_read(calls: Path) -> None:
    path = calls / "broken" / "reversed_cue.vtt"
    items = read("tonewatch.webvtt.v1", path)
    reversed_cue, bad_timing = problems(items)
    assert (reversed_cue.code, reversed_cue.location.line, reversed_cue.location.cue) == (
        "I106",
        8,
        "2",
    )
    assert "ends (00:00:05.000) before it starts (00:00:09.000)" in reversed_cue.message
    assert str(reversed_cue).startswith(f"{path}: line 8, cue 2: I106")
    assert (bad_timing.code, bad_timing.location.line, bad_timing.location.cue) == ("I107", 12, "3")
    assert "00:00:1x.500" in bad_timing.message and "hh:mm:ss.ttt" in bad_timing.message
    call = the_call(items)
    # Cues 1 and 4 are both the agent's, but the client's lost cues sit between them.
    assert [t.meta["cues"] for t in call.turns] == [["1"], ["4"]]


def test_webvtt_unreadable_call_start_is_quarantined_not_guessed(calls: Path) -> None:
    items = read("tonewatch.webvtt.v1", calls / "broken" / "bad_call_start.vtt")
    (problem,) = problems(items)
    assert problem.code == "I105" and problem.location.line == 3
    assert "12th of March" in problem.message
    assert the_call(items).turns[0].timestamp is None


def test_webvtt_file_without_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "call.vtt"
    path.write_text("00:00:01.000 --> 00:00:02.000\nHallo\n")
    (problem,) = read("tonewatch.webvtt.v1", path)
    assert problem.code == "I109" and "WEBVTT" in problem.message


# --- SRT ----------------------------------------------------------------------------------------


def test_srt_polish_call(calls: Path) -> None:
    call = the_call(read("tonewatch.srt.v1", calls / "pl_call.srt"))
    assert [(t.speaker, t.meta["cues"]) for t in call.turns] == [
        ("Konsultantka", ["1"]),
        ("Klient", ["2", "3"]),
        ("Konsultantka", ["4", "5"]),
        ("Klient", ["6"]),
    ]
    assert call.turns[2].text.endswith("Środki powinny wpłynąć w ciągu 7 dni roboczych.")  # <i>
    assert call.turns[1].source.line == 6 and call.turns[1].meta["end_s"] == 11.0


def test_srt_broken_cues_are_quarantined(calls: Path) -> None:
    path = calls / "broken" / "bad_timing.srt"
    items = read("tonewatch.srt.v1", path)
    arrow, backwards = problems(items)
    assert (arrow.code, arrow.location.line, arrow.location.cue) == ("I107", 5, "2")
    assert (backwards.code, backwards.location.line, backwards.location.cue) == ("I106", 10, "3")
    assert str(backwards).startswith(f"{path}: line 10, cue 3")
    assert [t.text for t in the_call(items).turns] == [
        "Dzień dobry, w czym mogę pomóc?",
        "Przyjmuję zgłoszenie.",
    ]


# --- "Speaker: text" ----------------------------------------------------------------------------


def test_speaker_text_arabic_call(calls: Path) -> None:
    items = read("tonewatch.speaker_text.v1", calls / "ar_call.txt")
    assert problems(items) == []
    call = the_call(items)
    assert [t.speaker for t in call.turns] == ["الموظف", "العميل", "الموظف", "العميل", "الموظف"]
    assert call.turns[1].text == (
        "السلام عليكم. فاتورتي هذا الشهر ضعف المعتاد ولم أغير باقتي. رقم الحساب 77120458."
    )
    assert (
        call.turns[3].text
        == "لم أسافر خارج البلد أبداً! هذا غير مقبول،\nوأريد إلغاء هذه الرسوم فوراً."
    )
    assert call.turns[0].source.line == 2  # line 1 is the call start, not a turn
    start = datetime(2024, 4, 2, 11, 15, tzinfo=timezone(timedelta(hours=3)))
    assert all(t.timestamp == start for t in call.turns)  # no offsets: the call's start


def test_speaker_text_cp1256_arabic_decodes_like_utf8(calls: Path) -> None:
    legacy = the_call(read("tonewatch.speaker_text.v1", calls / "ar_call_cp1256.txt"))
    utf8 = the_call(read("tonewatch.speaker_text.v1", calls / "ar_call.txt"))
    assert [(t.speaker, t.text) for t in legacy.turns] == [(t.speaker, t.text) for t in utf8.turns]


def test_speaker_text_no_show_markers_and_offsets(calls: Path) -> None:
    call = the_call(read("tonewatch.speaker_text.v1", calls / "no_show.txt"))
    assert [(t.speaker, t.meta.get("markers")) for t in call.turns] == [
        ("Agent", ["no answer"]),
        ("", ["client did not join"]),
        ("Agent", None),
    ]
    assert [t.meta["start_s"] for t in call.turns] == [2.0, 15.0, 40.0]
    assert call.turns[0].text == (
        "Good afternoon, this is Maria from Northwind billing, calling about the overdue "
        "invoice 4410. Hello? [no answer]"
    )


def test_speaker_text_undecodable_file_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(range(256)) * 4)
    (problem,) = read("tonewatch.speaker_text.v1", path)
    assert problem.code == "I102" and "UTF-8" in problem.message


# --- ASR JSON -----------------------------------------------------------------------------------


def test_whisper_json_with_speakers_and_call_start(calls: Path) -> None:
    items = read("tonewatch.asr_json.v1", calls / "whisper_es.json")
    assert problems(items) == []
    call = the_call(items)
    assert [(t.speaker, t.meta["cues"]) for t in call.turns] == [
        ("SPEAKER_00", ["0"]),
        ("SPEAKER_01", ["1", "2"]),
        ("SPEAKER_00", ["3", "4"]),
        ("SPEAKER_01", ["5"]),
    ]
    assert call.turns[1].text == (
        "Hola, llamo por el siniestro del coche, el parte es el 2024-118. "
        "Hace un mes que lo abrí y nadie me ha dado una respuesta."
    )
    assert call.turns[3].timestamp == datetime(2024, 2, 19, 15, 40, 22, 800000, tzinfo=UTC)
    assert call.meta["asr_language"] == "es"


def test_aws_transcribe_words_grouped_by_speaker_segments(calls: Path) -> None:
    call = the_call(read("tonewatch.asr_json.v1", calls / "aws_transcribe_en.json"))
    assert [(t.speaker, t.text) for t in call.turns] == [
        ("spk_0", "Thank you for calling Contoso, this is Dev."),
        ("spk_1", "Hi, my order arrived broken again. Third time this month."),
        ("spk_0", "I'm sorry about that. I'll send a replacement today."),
    ]
    assert call.turns[1].meta["cues"] == ["1", "2"] and call.turns[0].timestamp is None


def test_aws_transcribe_audio_segments(calls: Path) -> None:
    call = the_call(read("tonewatch.asr_json.v1", calls / "aws_audio_segments.json"))
    assert [(t.speaker, t.meta["start_s"], t.meta["end_s"]) for t in call.turns] == [
        ("spk_0", 0.0, 2.1),
        ("spk_1", 2.5, 8.4),
    ]


def test_whisper_truncated_file_keeps_the_complete_segments(calls: Path) -> None:
    path = calls / "broken" / "truncated_whisper.json"
    items = read("tonewatch.asr_json.v1", path)
    (problem,) = problems(items)
    assert problem.code == "I103" and problem.location.line == 47
    assert str(problem).startswith(f"{path}: line 47")
    cues = [c for t in the_call(items).turns for c in t.meta["cues"]]
    assert cues == ["0", "1", "2", "3"]


def test_asr_bad_segments_are_quarantined_by_cue(tmp_path: Path) -> None:
    path = tmp_path / "call.json"
    path.write_text(
        '{"segments": ['
        '{"id": 0, "start": 0.0, "end": 2.0, "text": " Guten Tag.", "speaker": "A"},'
        '{"id": 1, "start": 5.0, "end": 3.0, "text": " Rückwärts.", "speaker": "B"},'
        '{"id": 2, "start": 6.0, "end": 7.0, "speaker": "B"},'
        '{"id": 3, "start": "later", "end": 9.0, "text": "?", "speaker": "B"},'
        '{"id": 4, "start": 9.0, "end": 10.0, "text": " Auf Wiederhören.", "speaker": "A"}]}'
    )
    items = read("tonewatch.asr_json.v1", path)
    assert [(q.code, q.location.cue) for q in problems(items)] == [
        ("I106", "1"),
        ("I104", "2"),
        ("I107", "3"),
    ]
    assert [t.text for t in the_call(items).turns] == ["Guten Tag.", "Auf Wiederhören."]


@pytest.mark.parametrize(
    ("reader", "name"),
    [
        ("tonewatch.webvtt.v1", "empty.vtt"),
        ("tonewatch.srt.v1", "empty.vtt"),
        ("tonewatch.speaker_text.v1", "empty.vtt"),
        ("tonewatch.asr_json.v1", "empty.vtt"),
    ],
)
def test_transcript_empty_file_is_quarantined(calls: Path, reader: str, name: str) -> None:
    path = calls / "broken" / name
    (problem,) = read(reader, path)
    assert problem.code == "I101" and str(problem).startswith(str(path))

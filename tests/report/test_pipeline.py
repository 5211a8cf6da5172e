"""`tonewatch report` end to end: the real sample archive through ingest, joined with stored
turn results (hand labels, tests/fixtures/report/sample_labels.json), aggregated and written."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tonewatch.cli import app
from tonewatch.config import default_config
from tonewatch.io import open_writer
from tonewatch.report.pipeline import run_report
from tonewatch.schema import LABELS, Evidence, Flag, Label, Role, Tone, ToneResult, TurnResult

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
LABELLED = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "sample_labels.json"
ABUSE = {"threat", "personal_attack", "profanity", "aggressive_accusation"}


def labelled_result(turn, spans: list[tuple[str, str]]) -> TurnResult:
    """The TurnResult a good classifier would give ``turn``, from the hand labels."""
    found: dict[str, list[Evidence]] = {}
    for span, label in spans:
        start = turn.text.find(span)
        if start >= 0:
            found.setdefault(label, []).append(
                Evidence.from_span(turn.text, start, start + len(span))
            )
    tone = Tone.hostile if ABUSE & set(found) else Tone.frustrated if found else Tone.neutral
    return TurnResult(
        id=turn.id,
        lang=turn.lang,
        tone=ToneResult(label=tone, level=tone.level, scores={t: float(t == tone) for t in Tone}),
        scores={label: (0.93 if label in found else 0.03) for label in LABELS},
        flags=tuple(
            Flag(label=Label(name), score=0.93, evidence=tuple(spans))
            for name, spans in found.items()
        ),
        model="hand-labels",
    )


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    """conversations.jsonl (ingest output) and results.jsonl (classify output) for the samples."""
    from tonewatch.ingest.pipeline import ingest_paths
    from tonewatch.ingest.roles import with_staff

    spans = [tuple(s) for s in json.loads(LABELLED.read_text(encoding="utf-8"))["spans"]]
    config = with_staff(default_config().ingest, SAMPLES / "staff.toml")
    conversations = list(ingest_paths([SAMPLES], config))
    store = tmp_path_factory.mktemp("store")
    with open_writer(store / "conversations.jsonl") as writer:
        for conversation in conversations:
            writer.write(conversation)
    # classify writes one result per turn, in order; staff turns are never flagged.
    results = [
        labelled_result(turn, spans if turn.role == Role.client else [])
        for conversation in conversations
        for turn in conversation.turns
    ]
    with (store / "results.jsonl").open("w", encoding="utf-8") as handle:
        for result in results:
            handle.write(json.dumps(result.to_contract(), ensure_ascii=False) + "\n")
    return store, conversations, results


@pytest.fixture(scope="module")
def sample_report(sample_store, tmp_path_factory):
    store, _, _ = sample_store
    out = tmp_path_factory.mktemp("reports")
    run = run_report([SAMPLES], out, default_config(), from_results=store / "results.jsonl")
    clients = json.loads((out / "clients.json").read_text(encoding="utf-8"))["clients"]
    return run, {c["client"]: c for c in clients}


def test_pipeline_samples_archive_is_rich_enough(sample_store) -> None:
    _, conversations, _ = sample_store
    clients = {c.client_key for c in conversations}
    languages = {t.lang for c in conversations for t in c.turns if t.role == Role.client}
    channels = {c.channel.value for c in conversations}
    assert len(clients) >= 6 and not any(k.startswith("unknown:") for k in clients)
    assert {"en", "pl", "de", "fr", "es", "ar", "ko", "ka"} <= languages
    assert channels == {"email", "chat", "call"}
    weeks = {t.timestamp.isocalendar()[:2] for c in conversations for t in c.turns if t.timestamp}
    assert len(weeks) >= 6
    offsets = {t.timestamp.utcoffset() for c in conversations for t in c.turns if t.timestamp}
    assert len(offsets) >= 4  # real timezones: CET, GMT, Gulf, Korea


def test_pipeline_samples_report_finds_what_the_archive_holds(sample_report) -> None:
    run, clients = sample_report
    assert run.quarantined == 0  # staff.toml is the staff config, not an unreadable input
    assert run.unmatched_results == 0
    marek = clients["marek.kowalski@meble-kowalski.example"]
    assert marek["verdict"] == "pattern" and marek["families"]["abuse"]["trend"] == "rising"
    juergen = clients["j.braun@autohaus-braun.example"]
    assert juergen["verdict"] == "incident" and juergen["families"]["abuse"]["days"] == 1
    assert clients["claire@atelier-dubois.example"]["verdict"] == "none"
    assert clients["claire@atelier-dubois.example"]["risk"] == 0
    minjun = clients["minjun.lee@glowlab.example"]
    assert minjun["signals"]["after_hours_pressure"]["flagged"]
    diego = clients["diego@panaderia-hernandez.example"]
    assert diego["verdict"] == "none" and diego["signals"]["unresponsiveness"]["flagged"]
    assert "no answer" in diego["signals"]["unresponsiveness"]["detail"]
    omar = clients["omar.haddad@haddad-realestate.example"]
    assert omar["families"]["leverage"]["pattern"]
    assert {e["source"].split(":")[0].rsplit(".", 1)[-1] for e in omar["evidence"]} >= {
        "eml",
        "vtt",
    }
    assert clients["tamar@lomidze-translations.example"]["families"]["payment"]["pattern"]
    rachel = clients["rachel@lotusflow.example"]
    assert rachel["signals"]["attention_demand"]["flagged"]
    ranking = list(clients)
    assert ranking[0] == "marek.kowalski@meble-kowalski.example"
    assert ranking[-1] == "claire@atelier-dubois.example"


def test_pipeline_conversations_file_and_shuffled_results_give_the_same_report(
    sample_store, sample_report, tmp_path
) -> None:
    store, _, results = sample_store
    shuffled = tmp_path / "shuffled.jsonl"
    lines = [json.dumps(r.to_contract(), ensure_ascii=False) for r in results]
    shuffled.write_text("\n".join(random.Random(1).sample(lines, len(lines))) + "\n")
    run = run_report(
        [store / "conversations.jsonl"], tmp_path / "out", default_config(), from_results=shuffled
    )
    again = json.loads((tmp_path / "out" / "clients.json").read_text(encoding="utf-8"))["clients"]
    _, clients = sample_report
    assert [c["client"] for c in again] == list(clients)
    assert again == list(clients.values())
    assert run.model == "hand-labels"


def test_pipeline_cli_reports_from_stored_results(sample_store, tmp_path) -> None:
    store, _, _ = sample_store
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        app,
        ["report", str(SAMPLES), "--from-results", str(store / "results.jsonl"), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert f"report -> {out / 'index.html'}" in result.output
    assert "clients" in result.output and "8" in result.output
    assert (out / "clients.json").is_file() and (out / "summary.md").is_file()
    assert len(list((out / "clients").glob("*.html"))) == 8


def test_pipeline_cli_names_the_bad_results_line(sample_store, tmp_path) -> None:
    store, _, _ = sample_store
    bad = tmp_path / "results.jsonl"
    bad.write_text('{"id": "x", "text": "not a result"}\n')
    result = CliRunner().invoke(
        app, ["report", str(store / "conversations.jsonl"), "--from-results", str(bad)]
    )
    assert result.exit_code == 1
    assert "results.jsonl:1: not a turn result" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tonewatch-base", "tonewatch-fast"])
def test_pipeline_main_job_with_the_shipped_model(model: str, tmp_path) -> None:
    """The README's main job, `tonewatch report data/samples -o reports/`, with each shipped
    model: ingest, real classification, aggregation, pages."""
    from tonewatch.classify.api import resolve_model_path
    from tonewatch.errors import ModelError

    try:
        resolve_model_path(model)
    except ModelError as exc:
        pytest.skip(f"model {model} is not in models/ yet: {exc}")
    out = tmp_path / "reports"
    result = CliRunner().invoke(app, ["report", str(SAMPLES), "-o", str(out), "--model", model])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "clients.json").read_text(encoding="utf-8"))
    assert document["model"].startswith(model)
    by_key = {c["client"]: c for c in document["clients"]}
    assert len(by_key) == 8 and len(list((out / "clients").glob("*.html"))) == 8
    marek = by_key["marek.kowalski@meble-kowalski.example"]
    assert marek["verdict"] == "pattern" and marek["families"]["abuse"]["count"] >= 3
    assert document["clients"][0]["client"] == marek["client"]
    # Legitimate, calm complaints (a wrong invoice, a late launch) are not red flags.
    assert by_key["claire@atelier-dubois.example"]["verdict"] == "none"
    # Signals come from timing and metadata, whatever the model says of the words.
    assert by_key["diego@panaderia-hernandez.example"]["signals"]["unresponsiveness"]["flagged"]
    assert by_key["minjun.lee@glowlab.example"]["signals"]["after_hours_pressure"]["flagged"]


def test_pipeline_cli_as_of_measures_open_silences(sample_store, tmp_path) -> None:
    store, _, _ = sample_store
    values = []
    for as_of in ("2025-03-10", "2025-04-30"):
        out = tmp_path / as_of
        args = ["report", str(store / "conversations.jsonl"), "-o", str(out), "--as-of", as_of]
        result = CliRunner().invoke(app, [*args, "--from-results", str(store / "results.jsonl")])
        assert result.exit_code == 0, result.output
        clients = json.loads((out / "clients.json").read_text(encoding="utf-8"))["clients"]
        diego = next(c for c in clients if c["client"] == "diego@panaderia-hernandez.example")
        values.append(diego["signals"]["unresponsiveness"]["value"])
    # The request of 5 March: five days old on 10 March, eight weeks unanswered by 30 April.
    assert values[1] == values[0] + 1

"""`tonewatch load`, `user add`, `export-reviews`, and the loop back into `tonewatch train`."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from tonewatch.schema import LABELS
from tonewatch.serve.store import connect, session_factory
from tonewatch.serve.store import models as m
from tonewatch.serve.store.reviews import add_flag, set_status, set_tone
from tonewatch.train.gold import conversation_split, read_annotations

from .conftest import PASSWORD, ROOT, tonewatch

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"


def _summary(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^\s{2}(\S.*?)\s{2,}(\S.*)$", stdout, re.M))


def _store(db: str):
    return session_factory(connect(db))()


def test_cli_load_ingest_output_with_results_is_idempotent(tmp_path, scored_files) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    conversations, results = scored_files
    first = tonewatch("load", str(conversations), "--results", str(results), "--db", db)
    assert first.returncode == 0, first.stderr
    assert _summary(first.stdout) | {"model": ""} == {
        "added": "24", "updated": "0", "unchanged": "0", "turns added": "94",
        "clients": "6", "model": "",
        "client turns without a result": "1",  # a call the client never joined
    }  # fmt: skip
    again = tonewatch("load", str(conversations), "--results", str(results), "--db", db)
    assert _summary(again.stdout)["unchanged"] == "24" and _summary(again.stdout)["added"] == "0"
    with _store(db) as session:
        assert session.scalar(select(func.count(m.Flag.id))) == 20
        assert session.scalar(select(func.count(m.LoadRun.id))) == 2


def test_cli_load_joins_results_in_any_order(tmp_path, scored_files) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    conversations, results = scored_files
    lines = results.read_text().splitlines()
    random.Random(7).shuffle(lines)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(lines) + "\n")
    loaded = tonewatch("load", str(conversations), "--results", str(shuffled), "--db", db)
    assert loaded.returncode == 0, loaded.stderr
    assert _summary(loaded.stdout)["client turns without a result"] == "1"
    with _store(db) as session:
        assert session.scalar(select(func.count(m.Flag.id))) == 20
        unscored = select(func.count(m.Turn.id)).where(
            m.Turn.role == "client", m.Turn.model.is_(None), m.Turn.text != "[did not join]"
        )
        assert session.scalar(unscored) == 0


def test_cli_load_names_the_broken_line(tmp_path, scored_files) -> None:
    conversations, results = scored_files
    broken = tmp_path / "results.jsonl"
    broken.write_text(results.read_text().splitlines()[0] + '\n{"id": "x", "tone": 3}\n')
    loaded = tonewatch("load", str(conversations), "--results", str(broken), "--db",
                       f"sqlite:///{tmp_path / 'store.db'}")  # fmt: skip
    assert loaded.returncode == 1
    assert f"{broken}:2: not a turn result" in loaded.stderr
    missing_dir = tonewatch("load", str(conversations), "--db", "sqlite:////no/such/dir/x.db")
    assert missing_dir.returncode == 1 and "[serve -> db]" in missing_dir.stderr


@pytest.mark.slow
def test_cli_load_classifies_archives_on_the_fly(tmp_path, tiny_model) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    loaded = tonewatch("load", str(HOSTILE), "--model", str(tiny_model), "--db", db)
    assert loaded.returncode == 0, loaded.stderr
    assert _summary(loaded.stdout)["model"] == "tonewatch-tiny@0.0.1"
    with _store(db) as session:
        turns = list(session.scalars(select(m.Turn).order_by(m.Turn.position)))
        assert [(t.role, t.model) for t in turns] == [
            ("client", "tonewatch-tiny@0.0.1"), ("agent", None),
        ]  # fmt: skip
        assert set(turns[0].scores) == set(LABELS)
    again = tonewatch("load", str(HOSTILE), "--model", str(tiny_model), "--db", db)
    assert _summary(again.stdout)["unchanged"] == "1"


def test_cli_user_add(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    env = {"TONEWATCH_PASSWORD": PASSWORD}
    made = tonewatch("user", "add", "anna", "--role", "admin", "--db", db, env=env)
    assert made.returncode == 0 and "added admin 'anna'" in made.stdout
    again = tonewatch("user", "add", "Anna", "--db", db, env=env)
    assert again.returncode == 1 and "already exists" in again.stderr
    weak = tonewatch("user", "add", "bob", "--db", db, env={"TONEWATCH_PASSWORD": "short"})
    assert weak.returncode == 1 and "shorter than 10" in weak.stderr
    role = tonewatch("user", "add", "carl", "--role", "boss", "--db", db, env=env)
    assert role.returncode == 1 and "reviewer, lead, admin" in role.stderr
    prompted = tonewatch("user", "add", "dora", "--db", db, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.returncode == 0, prompted.stderr
    listed = tonewatch("user", "list", "--db", db).stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["anna", "admin", "active"], ["dora", "reviewer", "active"],
    ]  # fmt: skip


def _review(db: str) -> list[str]:
    """A reviewer's work on six conversations: confirm, reject, add, set tone."""
    with _store(db) as session:
        from tonewatch.serve.store.users import add_user

        user = add_user(session, "rita", "reviewer", PASSWORD)
        session.commit()
        chosen = []
        for key in ("pl-w4", "pl-w5", "de-chat-3", "ko-chat-1", "ko-chat-2", "ar-call"):
            conversation = session.scalar(select(m.Conversation).where(m.Conversation.key == key))
            flags = session.scalars(
                select(m.Flag).where(m.Flag.conversation_id == conversation.id).order_by(m.Flag.id)
            ).all()
            for n, flag in enumerate(flags):
                set_status(session, user, flag.id, "rejected" if n % 3 == 2 else "confirmed")
                set_tone(session, user, flag.turn_id, "hostile")
            chosen.append(key)
        turn = session.scalar(select(m.Turn).where(m.Turn.key == "pl-w5:8"))
        add_flag(session, user, turn.id, "devaluation", 0, 0, "Znowu nic nie działa")
    return chosen


def test_cli_export_reviews_writes_annotation_records(tmp_path, scored_files) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    conversations, results = scored_files
    assert (
        tonewatch("load", str(conversations), "--results", str(results), "--db", db).returncode == 0
    )
    _review(db)
    out = tmp_path / "reviews.jsonl"
    exported = tonewatch("export-reviews", "-o", str(out), "--db", db)
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert f"exported {len(records)} reviewed turns" in exported.stdout
    expected_keys = {"id", "conversation", "lang", "channel", "role", "text", "labels",
                     "evidence", "tone", "hard_negative"}  # fmt: skip
    assert all(expected_keys <= set(r) for r in records)
    gold = {t.id: t for t in read_annotations(out)}
    assert len(gold) == len(records) == 13
    assert gold["pl-w5:8"].labels == {"devaluation", "personal_attack"}
    assert {t.lang for t in gold.values()} == {"pl", "de", "ko", "ar"}
    assert sum(t.hard_negative for t in gold.values()) == 3  # every flag rejected


@pytest.mark.slow
def test_cli_exported_reviews_train_a_model(tmp_path, scored_files, tiny_model) -> None:
    """The feedback loop: reviews exported, added to a config's annotations, trained on."""
    from tonewatch.classify.model import RedFlagModel

    db = f"sqlite:///{tmp_path / 'store.db'}"
    conversations, results = scored_files
    assert (
        tonewatch("load", str(conversations), "--results", str(results), "--db", db).returncode == 0
    )
    _review(db)
    reviews = tmp_path / "reviews.jsonl"
    assert tonewatch("export-reviews", "-o", str(reviews), "--db", db).returncode == 0
    config = (ROOT / "configs" / "tiny.toml").read_text()
    config = config.replace(
        'annotations = ["data/annotations/*.jsonl"]',
        f'annotations = ["data/annotations/*.jsonl", "{reviews}"]',
    )
    assert str(reviews) in config
    (tmp_path / "tiny-reviews.toml").write_text(config)
    out = tmp_path / "model"
    trained = tonewatch("train", "-c", str(tmp_path / "tiny-reviews.toml"), "-o", str(out),
                        "--base", str(ROOT))  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert str(reviews) in meta["data"]["files"]
    gold = read_annotations(reviews)
    in_pool = [t for t in gold if conversation_split(t.conversation) != "test"]
    assert in_pool, "fixture: every reviewed conversation fell into the test split"
    assert meta["data"]["counts"]["corpora"]["tonewatch-reviews"] == len(in_pool)
    # What reviewers confirmed, the new model believes more than the old one.
    positives = [(t, label) for t in in_pool for label in t.labels]
    before, after = RedFlagModel.load(tiny_model), RedFlagModel.load(out)
    labels = list(meta["labels"])
    texts, langs = [t.text for t, _ in positives], [t.lang for t, _ in positives]
    old, new = before.predict_scores(texts, langs)[0], after.predict_scores(texts, langs)[0]
    columns = [labels.index(label) for _, label in positives]
    rows = np.arange(len(positives))
    assert new[rows, columns].mean() > old[rows, columns].mean()


@pytest.mark.slow
def test_cli_load_reads_a_score_folder_like_the_archives(tmp_path, tiny_model) -> None:
    """`tonewatch score` output loads without rescoring, into the same store contents as
    ingesting and classifying the archives themselves."""
    import shutil

    archive = tmp_path / "archive"
    shutil.copytree(HOSTILE, archive)
    for name in ("chat/ka_support.jsonl", "chat/ko_support.csv", "transcript/de_call_voice.vtt"):
        shutil.copy(ROOT / "tests" / "fixtures" / name, archive)
    staff = str(archive / "staff.toml")
    scored = tmp_path / "scored"
    done = tonewatch("score", str(archive), "-o", str(scored), "--model", str(tiny_model),
                     "--scheduler", "synchronous", "--staff", staff)  # fmt: skip
    assert done.returncode == 0, done.stderr
    from_folder, from_archive = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    first = tonewatch("load", str(scored), "--db", from_folder)
    assert first.returncode == 0, first.stderr
    assert _summary(first.stdout)["model"] == "tonewatch-tiny@0.0.1"
    again = tonewatch("load", str(scored), "--db", from_folder)
    assert _summary(again.stdout)["added"] == "0"
    assert _summary(again.stdout)["unchanged"] == _summary(first.stdout)["added"]
    direct = tonewatch("load", str(archive), "--model", str(tiny_model), "--staff", staff,
                       "--db", from_archive)  # fmt: skip
    assert direct.returncode == 0, direct.stderr

    def contents(db: str) -> tuple[set, set]:
        with _store(db) as session:
            turns = session.execute(
                select(m.Conversation.key, m.Client.key, m.Turn.key, m.Turn.role, m.Turn.text)
                .join(m.Turn, m.Turn.conversation_id == m.Conversation.id)
                .join(m.Client, m.Client.id == m.Conversation.client_id)
            ).all()
            flags = session.execute(
                select(m.Turn.key, m.Flag.label, m.Flag.score, m.Flag.evidence).join(
                    m.Turn, m.Turn.id == m.Flag.turn_id
                )
            ).all()
        return set(map(tuple, turns)), {(t, label, round(s, 4), str(e)) for t, label, s, e in flags}

    turns, flags = contents(from_folder)
    assert len({t[0] for t in turns}) >= 4 and flags  # mail, chats, a call
    assert (turns, flags) == contents(from_archive)


def test_cli_serve_workers_share_the_port_and_stop_together(tmp_path) -> None:
    """`tonewatch serve --workers 2`: two processes, each with its own SO_REUSEPORT socket on
    the same port; both answer, and SIGTERM to the command stops them both."""
    import httpx
    import psutil

    from .conftest import start_server, stop_server

    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert tonewatch("user", "add", "anna", "--role", "admin", "--db", db,
                     env={"TONEWATCH_PASSWORD": PASSWORD}).returncode == 0  # fmt: skip
    server = start_server(db, tmp_path, workers=2)
    try:
        children = psutil.Process(server.process.pid).children()
        workers = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
        assert len(workers) == 2
        pids = set()
        for _ in range(40):  # a new connection each time: the kernel picks a worker by hash
            with httpx.Client() as client:
                assert client.get(server.url + "/login").status_code == 200
                pids |= {
                    c.pid
                    for c in psutil.net_connections("tcp")
                    if c.pid and c.laddr and c.laddr.port == int(server.url.rsplit(":", 1)[1])
                    and c.status == psutil.CONN_ESTABLISHED
                }  # fmt: skip
        assert pids == {w.pid for w in workers}
    finally:
        stop_server(server)
    assert server.process.returncode == 0
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)

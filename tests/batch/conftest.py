"""Archives for the batch tests: mboxes of real support messages (the project's annotated
turns in six languages), threaded, with staff replies; a tiny real model; run helpers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from tonewatch.config import Config, default_config
from tonewatch.ingest.roles import with_staff

ROOT = Path(__file__).resolve().parents[2]
ANNOTATIONS = ROOT / "data" / "annotations"
STAFF_TOML = '[ingest]\nstaff_domains = ["support.example"]\n'


def real_texts() -> list[tuple[str, str]]:
    """(lang, text) of the annotated turns, in a fixed order."""
    texts = []
    for path in sorted(ANNOTATIONS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts.append((record["lang"], record["text"]))
    return texts


def mbox_message(number: int, text: str, *, reply_to: int | None = None) -> str:
    """Message ``number`` of a test mbox; replies (from staff) thread on their root."""
    sent = datetime(2024, 3, 4, 8, tzinfo=UTC) + timedelta(minutes=37 * number)
    client = f"client{number % 7}@shop{number % 7}.example"
    headers = [f"Message-ID: <m{number}@batch.test>"]
    if reply_to is None:
        sender, to, subject = client, "help@support.example", f"Order {number}"
    else:
        sender, to = (
            f"agent{number % 3}@support.example",
            f"client{reply_to % 7}@shop{reply_to % 7}.example",
        )
        subject = f"Re: Order {reply_to}"
        headers += [
            f"In-Reply-To: <m{reply_to}@batch.test>",
            f"References: <m{reply_to}@batch.test>",
        ]
    body = "\n".join(">" + line if line.startswith("From ") else line for line in text.splitlines())
    return (
        f"From {sender} {sent.strftime('%a %b %d %H:%M:%S %Y')}\n"
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: {format_datetime(sent)}\n"
        + "\n".join(headers)
        + "\nContent-Type: text/plain; charset=utf-8\n\n"
        + body.rstrip("\n")
        + "\n\n"
    )


def write_mbox(path: Path, first: int, count: int, *, mode: str = "w") -> Path:
    """Messages ``first`` .. ``first + count - 1``; every third replies to the one before."""
    texts = real_texts()
    with path.open(mode, encoding="utf-8", newline="\n") as out:
        for number in range(first, first + count):
            reply_to = number - 1 if number % 3 == 2 else None
            out.write(mbox_message(number, texts[number % len(texts)][1], reply_to=reply_to))
    return path


def read_rows(outdir: Path) -> pa.Table:
    """Every row of an output folder, sorted by turn id (the order the tests compare in)."""
    dataset = ds.dataset(outdir / "chunks", format="parquet")
    return dataset.to_table().sort_by([("turn_id", "ascending"), ("chunk", "ascending")])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A real model trained in seconds on configs/tiny.toml."""
    from tonewatch.train.trainer import read_train_config, train

    out = tmp_path_factory.mktemp("model") / "tiny"
    config, text = read_train_config(ROOT / "configs" / "tiny.toml")
    train(config, text, out, base=ROOT, log=lambda _: None)
    return out


@pytest.fixture
def staff_toml(tmp_path) -> Path:
    path = tmp_path / "staff.toml"
    path.write_text(STAFF_TOML, encoding="utf-8")
    return path


def batch_config(staff: Path | None = None, *, chunk_turns: int = 8) -> Config:
    config = default_config()
    batch = config.batch.model_copy(update={"chunk_turns": chunk_turns})
    update: dict[str, object] = {"batch": batch}
    if staff is not None:
        update["ingest"] = with_staff(config.ingest, staff)
    return config.model_copy(update=update)

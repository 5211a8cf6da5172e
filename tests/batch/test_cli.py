"""``tonewatch score``: the summary users read, and its exit status."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from tonewatch.cli import app

from .conftest import write_mbox

runner = CliRunner()


def test_cli_score_prints_a_summary_and_resumes(tmp_path, tiny_model, staff_toml) -> None:
    mbox = write_mbox(tmp_path / "support.mbox", 0, 12)
    args = ["score", str(mbox), "-o", str(tmp_path / "out"), "--model", str(tiny_model),
            "--staff", str(staff_toml), "--scheduler", "synchronous",
            "--set", "batch.chunk_turns=5"]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "3 scored, 0 unchanged" in first.output
    assert re.search(r"messages +12\n", first.output) and "messages/s" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 scored, 3 unchanged" in again.output
    assert re.search(r"folder holds +12 turns", again.output)


def test_cli_score_fails_when_nothing_can_be_read(tmp_path, tiny_model) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02binary\x00" * 50)
    result = runner.invoke(
        app,
        [
            "score",
            str(junk),
            "-o",
            str(tmp_path / "out"),
            "--model",
            str(tiny_model),
            "--scheduler",
            "synchronous",
        ],  # fmt: skip
    )
    assert result.exit_code == 1
    assert re.search(r"quarantined +1\n", result.output)
    assert "nothing could be read" in result.output


def test_cli_score_names_a_missing_model(tmp_path) -> None:
    mbox = write_mbox(tmp_path / "a.mbox", 0, 1)
    result = runner.invoke(
        app, ["score", str(mbox), "-o", str(tmp_path / "out"), "--model", str(tmp_path / "nope")]
    )
    assert result.exit_code == 1 and "nope" in result.output and "not found" in result.output

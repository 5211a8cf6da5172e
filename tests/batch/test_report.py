"""``tonewatch report --from-results OUTDIR``: the report of a scored folder, no rescoring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tonewatch.batch.run import SYNCHRONOUS, run_batch
from tonewatch.report.pipeline import run_report

from .conftest import batch_config, write_mbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_report_from_a_scored_folder_equals_scoring_afresh(tmp_path, tiny_model, staff_toml):
    archive = tmp_path / "archive"
    shutil.copytree(FIXTURES / "ingest" / "mixed", archive / "mixed")
    write_mbox(archive / "support.mbox", 0, 30)
    config = batch_config(staff_toml)
    run_batch([archive], tmp_path / "scored", config, model=str(tiny_model),
              scheduler=SYNCHRONOUS)  # fmt: skip
    stored = run_report([archive], tmp_path / "stored", config, staff=staff_toml,
                        from_results=tmp_path / "scored")  # fmt: skip
    afresh = run_report([archive], tmp_path / "afresh", config, staff=staff_toml,
                        model=str(tiny_model))  # fmt: skip
    assert stored.unscored_turns == 0 and stored.unmatched_results == 0
    assert (stored.clients, stored.client_turns) == (afresh.clients, afresh.client_turns)
    got = json.loads(stored.files.clients_json.read_text())["clients"]
    want = json.loads(afresh.files.clients_json.read_text())["clients"]
    assert got == want

"""``tonewatch transfer``: the cross-lingual transfer study (train without a language, score it)."""

from __future__ import annotations

from pathlib import Path

import typer

from tonewatch.cli import app
from tonewatch.cli._common import user_errors


def _ints(value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"expected comma-separated integers, got {value!r}") from exc


@app.command("transfer")
def transfer_cli(
    config: Path = typer.Option(
        ..., "--config", "-c", help="Training config of the tier to study, e.g. configs/fast.toml."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder for transfer.json, transfer.md and the runs."
    ),
    langs: str = typer.Option(
        "", help="Comma-separated languages to hold out (default: every annotated language)."
    ),
    curve_lang: str = typer.Option(
        "ka", help="Language for the learning curve and lexicon ablation ('' to skip)."
    ),
    curve: str = typer.Option(
        "25,50,100", help="Annotated turns of --curve-lang added back, comma-separated."
    ),
    lexicon_ablation: bool = typer.Option(
        True, help="Also train without --curve-lang's lexicon (held out)."
    ),
    into: Path | None = typer.Option(
        None, help="Copy transfer.json/.md into this model directory and refresh its card."
    ),
    base: Path = typer.Option(Path("."), help="Directory that relative data paths start from."),
    cache_dir: Path = typer.Option(
        Path(".cache/embeddings"), help="Shared sentence-embedding cache."
    ),
    keep_models: bool = typer.Option(False, help="Keep each run's model directory."),
    only: str = typer.Option(
        "",
        help="Comma-separated settings to train in this call (e.g. all,without-ka); the others "
        "are only reused from earlier calls. Runs whose config and data are unchanged are "
        "always reused.",
    ),
    fresh_data: bool = typer.Option(
        False,
        help="Take a new snapshot of the annotations and lexicons (the study otherwise keeps "
        "reading the one its first call took); every run then trains again.",
    ),
) -> None:
    """Train one model per held-out language (its annotations removed) and score it on that
    language, next to the same config trained on everything; then a learning curve for one
    language. Each run trains a full model: minutes per run on the fast tier, more with an
    encoder (embeddings are cached)."""
    import shutil

    from tonewatch.errors import ModelError
    from tonewatch.train.model_card import write_model_card
    from tonewatch.train.transfer import run_transfer

    with user_errors():
        if into is not None and not (into / "meta.json").is_file():
            raise ModelError(f"{into}: not a model directory (no meta.json) for --into")
        study = run_transfer(
            config,
            output,
            langs=[lang.strip() for lang in langs.split(",") if lang.strip()] or None,
            base=base,
            cache_dir=cache_dir,
            curve_lang=curve_lang or None,
            curve=_ints(curve),
            lexicon_ablation=lexicon_ablation,
            keep_models=keep_models,
            fresh_data=fresh_data,
            only=[name.strip() for name in only.split(",") if name.strip()] or None,
            log=typer.echo,
        )
        if study["pending"]:
            typer.echo("study incomplete: run again for the pending settings")
            return
        typer.echo((output / "transfer.md").read_text(encoding="utf-8"))
        if into is not None:
            for name in ("transfer.json", "transfer.md"):
                shutil.copy(output / name, into / name)
            write_model_card(into)
            typer.echo(f"copied into {into} and refreshed its model card")

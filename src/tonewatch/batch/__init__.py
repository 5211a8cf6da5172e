"""Batch scoring of whole archives: streaming, resumable, exactly-once, parallel on Dask.

    from tonewatch.batch import run_batch
    summary = run_batch(["archive.mbox"], "scored/", load_config(), workers=2)

``plan`` cuts inputs into chunks named by content, ``work`` scores one chunk (ingest +
classify) into a Parquet file, ``sink`` commits it (atomic rename + manifest), ``run`` drives
it all on a Dask cluster, ``rows`` defines the table and reads it back. See docs/batch.md.
"""

from tonewatch.batch.run import BatchSummary, run_batch

__all__ = ["BatchSummary", "run_batch"]

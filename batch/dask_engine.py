"""`--engine dask`: the same scoring on a Dask cluster, with dask.dataframe reading the input.

The predictor is loaded and verified once on the client and scattered to every worker, so workers
need neither the model file nor a shared disk; they need the same installed package.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import pandas as pd

from redflags.batch.frame import output_columns, score_frame
from redflags.model.artifact import load_predictor

_WINDOW = 4  # partitions computed ahead of the one being written


def _score_partition(frame: pd.DataFrame, predictor, text_column: str, evidence: bool,
                     thresholds: dict[str, float] | None = None) -> pd.DataFrame:
    return score_frame(predictor, frame.reset_index(drop=True), text_column, evidence, thresholds)


def read_dataframe(name: str, kind: str, chunksize: int, encoding: str, multiline: bool):
    import dask.dataframe as dd

    if kind == "parquet":
        return dd.read_parquet(name, split_row_groups=True)
    # Byte-range splitting is only safe when no quoted field spans lines, and gzip cannot be split.
    splittable = not multiline and not name.lower().endswith(".gz")
    blocksize = max(chunksize * 400, 1 << 20) if splittable else None
    from redflags.batch.score import csv_options

    options = {k: v for k, v in csv_options(kind).items() if k != "index_col"}  # dask does not take index_col
    return dd.read_csv(name, **options, blocksize=blocksize, encoding=encoding)


def scored_partitions(name: str, kind: str, text_column: str, model_path, evidence: bool, scheduler: str | None,
                      chunksize: int, encoding: str, multiline: bool, jobs: int = 2,
                      thresholds: dict[str, float] | None = None) -> Iterator[pd.DataFrame]:
    """Scored partitions in input order, computed on the cluster a few at a time. Without a scheduler,
    a local cluster of `jobs` single-threaded worker processes does the work."""
    from dask.distributed import Client, LocalCluster

    if name == "-":
        from redflags.batch.score import BatchError

        raise BatchError("the dask engine reads files, not standard input")
    cluster = client = None
    try:
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        # single-threaded workers: an encoder-mode model's encoder (built on each worker) gets one thread
        predictor = client.scatter(load_predictor(model_path, encoder_threads=1), broadcast=True)
        ddf = read_dataframe(name, kind, chunksize, encoding, multiline)
        meta = pd.DataFrame({c: pd.Series(dtype="object") for c in output_columns(ddf.columns, evidence)})
        scored = ddf.map_partitions(_score_partition, predictor, text_column, evidence, thresholds, meta=meta)
        parts = scored.to_delayed()
        window: deque = deque()
        for part in parts:
            window.append(client.compute(part))
            if len(window) > _WINDOW:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

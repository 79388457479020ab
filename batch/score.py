"""`redflags score`: stream a CSV/TSV/Parquet file through the prediction core, chunk by chunk.

Every input row comes back, in order, with its columns unchanged and the score columns after them.
The output is written to a temporary file beside OUTPUT and renamed only on success, so an
interrupted run never leaves a truncated file and never clobbers a good one.
"""
from __future__ import annotations

import codecs
import gzip
import hashlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import multiprocessing as mp

import pandas as pd

from redflags.batch.frame import FrameError, check_columns, csv_bytes, csv_header, output_columns, score_frame
from redflags.model.artifact import ArtifactError, fsync_dir, load_predictor, umask_mode, verify_artifact
from redflags.model.inputs import InputError, check_thresholds
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS

log = logging.getLogger(__name__)


class BatchError(RuntimeError):
    """The run cannot start or could not finish; nothing was written to OUTPUT."""


@dataclass
class Summary:
    id_column: str | None = None
    rows: int = 0
    errors: int = 0
    flagged: Counter = field(default_factory=Counter)
    actions: Counter = field(default_factory=Counter)
    error_ids: list = field(default_factory=list)   # the first few ids of rows not scored (--id-column)
    seconds: float = 0.0

    @staticmethod
    def count(scored: pd.DataFrame, id_column: str | None) -> tuple:
        """One chunk's share of the summary, small enough to send back from a worker: rows, errors, the first
        ids of rows not scored, and counts of flags and actions."""
        failed = (scored["error"] != "").to_numpy()
        ids = scored.loc[failed, id_column].head(10).astype(str).tolist() if id_column and failed.any() else []
        flagged: Counter = Counter()
        for cell, n in scored["red_flags"].value_counts().items():
            for c in cell.split(";"):
                if c:
                    flagged[c] += int(n)
        actions = Counter({a: int(n) for a, n in scored["recommendation"].value_counts().items() if a})
        return len(scored), int(failed.sum()), ids, flagged, actions

    def merge(self, counts: tuple) -> None:
        rows, errors, ids, flagged, actions = counts
        self.rows += rows
        self.errors += errors
        self.error_ids += ids[:max(0, 10 - len(self.error_ids))]
        self.flagged.update(flagged)
        self.actions.update(actions)

    def render(self) -> str:
        scored = max(self.rows - self.errors, 1)
        lines = [f"scored {_rows(self.rows)} in {self.seconds:.1f} s "
                 f"({self.rows / max(self.seconds, 1e-9):.0f} rows/s); {_rows(self.errors)} not scored (see `error`)"]
        lines.append("share flagged: " + ", ".join(f"{c} {self.flagged[c] / scored:.1%}" for c in CATEGORIES))
        lines.append("recommendations: " + ", ".join(f"{a} {self.actions[a]}" for a in RECOMMENDATIONS))
        if self.error_ids:
            lines.append(f"not scored ({self.id_column}): " + ", ".join(self.error_ids)
                         + (" ..." if self.errors > len(self.error_ids) else ""))
        return "\n".join(lines)


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


# ---------------------------------------------------------------------------------------------
# input

def input_kind(name: str) -> str:
    lower = name.lower()
    if lower == "-":
        return "csv"
    for suffix, kind in ((".parquet", "parquet"), (".tsv.gz", "tsv"), (".tsv", "tsv"), (".csv.gz", "csv"), (".csv", "csv")):
        if lower.endswith(suffix):
            return kind
    raise BatchError(f"{name}: unknown file type; use .csv, .csv.gz, .tsv or .parquet")


def _open_binary(name: str):
    if name == "-":
        return sys.stdin.buffer
    return gzip.open(name, "rb") if name.lower().endswith(".gz") else open(name, "rb")


def precheck_text(name: str, encoding: str, digest=None, find_multiline: bool = True) -> bool:
    """Decode the whole file once before any work: name the first bad line, and report an empty file.

    Returns True when a quoted field spans lines (the Dask engine then cannot split the file by bytes);
    with `find_multiline=False` (the local engine, whose CSV reader handles such fields) that scan, most
    of this function's time, is skipped and False returned.
    `digest` (a hashlib object) is fed the raw bytes on the way, for the report's SHA-256 of the input.
    """
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise BatchError(f"unknown encoding {encoding!r}") from None
    decoder = codecs.getincrementaldecoder(encoding)()
    line, seen_content, multiline, quotes = 1, False, False, 0
    with _open_binary(name) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            if digest is not None:
                digest.update(block)
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad_line = line + block[:exc.start].count(b"\n")
                raise BatchError(f"{name}: line {bad_line} is not valid {encoding}; "
                                 f"pass --encoding (for example --encoding cp1252 or latin-1)") from None
            if not seen_content and text.strip():
                seen_content = True
            if find_multiline and not multiline:  # an odd number of quotes at a line end: a quoted field goes on
                pieces = text.split("\n")
                for piece in pieces[:-1]:
                    quotes += piece.count('"')
                    if quotes % 2:
                        multiline = True
                        break
                    quotes = 0
                else:
                    quotes += pieces[-1].count('"')  # the block's unfinished line carries over
            line += text.count("\n")
    if not seen_content:
        raise BatchError(f"{name}: the file is empty")
    return multiline


def csv_options(kind: str) -> dict:
    """How every reader here parses CSV/TSV: all cells as text, blanks stay '', no index column."""
    return {"sep": "\t" if kind == "tsv" else ",", "dtype": str, "keep_default_na": False, "index_col": False}


def iter_chunks(name: str, kind: str, chunksize: int, encoding: str) -> Iterator[pd.DataFrame]:
    """Chunks of rows as strings (blank cells stay ''), so the original columns come back unchanged.

    The file is closed on every path: read to the end, an error, or the consumer stopping early
    (closing this generator, which `score_file` always does)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(name) as parquet:
            for batch in parquet.iter_batches(batch_size=chunksize):
                yield batch.to_pandas()
        return
    source = sys.stdin.buffer if name == "-" else name
    with pd.read_csv(source, **csv_options(kind), chunksize=chunksize, encoding=encoding,
                     compression="infer" if name != "-" else None) as reader:
        try:
            yield from reader
        except UnicodeDecodeError as exc:
            raise BatchError(f"{name}: not valid {encoding} ({exc.reason}); pass --encoding") from None
        except pd.errors.ParserError as exc:
            raise BatchError(f"{name}: cannot be parsed as {kind.upper()}: {exc}") from None


def read_header(name: str, kind: str, encoding: str) -> list[str]:
    if kind == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(name) as parquet:
            return list(parquet.schema_arrow.names)
    try:
        return list(pd.read_csv(name, **csv_options(kind), nrows=0, encoding=encoding).columns)
    except pd.errors.EmptyDataError:
        raise BatchError(f"{name}: the file is empty") from None


# ---------------------------------------------------------------------------------------------
# stopping (Ctrl-C, SIGTERM)

_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def _signals_held():
    """Block SIGINT and SIGTERM in this thread for a step that must not be cut in two: creating the temp
    output and owning it, or starting worker processes (ProcessPoolExecutor forks in `submit`; a worker
    inherits the mask, so none can be interrupted before `_init_worker` has run). A signal that arrived
    meanwhile is handled as soon as the mask is restored."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # the current mask, unchanged
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def _stop_requests():
    """Yield a `check()` to call between chunks: it re-raises a SIGINT/SIGTERM received during the run.

    The handlers in force (KeyboardInterrupt for SIGINT, the CLI's SystemExit for SIGTERM) raise wherever
    the main thread happens to be, and some libraries drop such an exception (numpy swallows one raised
    inside its ctypes check, hit by pandas' dtype comparisons), so the run would go on as if no one had
    asked it to stop. The signal is remembered here as well, and `check()` raises it again. Handlers that are
    not Python functions (default action, ignored) are left alone; outside the main thread nothing is done."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    received: list[int] = []
    previous: dict[int, object] = {}

    def remember(signum, frame):
        received.append(signum)
        previous[signum](signum, frame)

    def check() -> None:
        if received:
            signum = received[-1]
            previous[signum](signum, None)

    try:
        for signum in sorted(_STOP_SIGNALS):
            handler = signal.getsignal(signum)
            if callable(handler):
                previous[signum] = handler
                signal.signal(signum, remember)
        yield check
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# ---------------------------------------------------------------------------------------------
# output

class AtomicOutput:
    """Write to a temp file beside the target; `commit` renames it into place, `discard` removes it."""

    def __init__(self, name: str, kind: str, columns: list[str], escape: bool = True) -> None:
        self.name, self.kind, self.columns, self.escape = name, kind, columns, escape
        self.first = True
        self._writer = None
        self._raw = None
        if name == "-":
            self.tmp, self.fh = None, sys.stdout
            return
        target = Path(name)
        if not target.parent.exists():
            raise BatchError(f"{name}: the folder {target.parent} does not exist")
        self.tmp, self.fh, fd = None, None, None
        try:
            # Ctrl-C or SIGTERM is held off until the file and its name are both known here, and then
            # removes the file below: it cannot fall between creating the temp file and owning it.
            with _signals_held():
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
                self.tmp = Path(tmp)
                if kind == "parquet":
                    os.close(fd)
                else:
                    self._raw = os.fdopen(fd, "wb")
                    self.fh = gzip.GzipFile(fileobj=self._raw, mode="wb") if name.lower().endswith(".gz") else self._raw
                fd = None  # closed, or owned by self._raw
        except BaseException:
            if fd is not None and self._raw is None:
                os.close(fd)
            self.discard()
            raise

    @property
    def sep(self) -> str:
        return "\t" if self.kind == "tsv" else ","

    def write(self, frame: pd.DataFrame) -> None:
        frame = frame[self.columns]
        if self.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.tmp, table.schema)
            self._writer.write_table(table.cast(self._writer.schema))
            self.first = False
        else:
            self.write_csv(csv_bytes(frame, self.sep, escape=self.escape))

    def write_csv(self, rows: bytes) -> None:
        """Rows already formatted by `csv_bytes` for these columns; the header goes before the first."""
        if self.first:
            rows = csv_header(self.columns, self.sep) + rows
            self.first = False
        if self.fh is sys.stdout:
            buffer = getattr(sys.stdout, "buffer", None)
            if buffer is None:  # a stand-in for stdout that takes text only
                sys.stdout.write(rows.decode("utf-8"))
                return
            sys.stdout.flush()
            buffer.write(rows)
            return
        self.fh.write(rows)

    def commit(self) -> None:
        """Flush and fsync the temp file, give it the mode a plainly created file gets (mkstemp made it
        0600), rename it into place and fsync the folder, so OUTPUT is either the old file or all of the new."""
        if self.tmp is None:
            self.fh.flush()
            getattr(self.fh, "buffer", self.fh).flush()
            return
        if self._writer is not None:
            self._writer.close()
            with open(self.tmp, "rb") as written:
                os.fsync(written.fileno())
        elif self.fh is not None:
            if self.fh is not self._raw:
                self.fh.close()  # the gzip stream's end, written to self._raw
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()
        os.chmod(self.tmp, umask_mode())
        os.replace(self.tmp, self.name)
        fsync_dir(self.tmp.parent)

    def discard(self) -> None:
        if self.tmp is None:
            return
        try:
            if self._writer is not None:
                self._writer.close()
            elif self.fh is not None and self.fh is not self._raw:
                self.fh.close()
        finally:
            try:
                if self._raw is not None:
                    self._raw.close()
            finally:
                self.tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# workers

_WORKER: dict = {}


def _init_worker(model_path: str | None) -> None:
    """First thing in every worker. Ctrl-C sends SIGINT to the whole process group, but only the parent acts
    on it (it stops reading, cancels the queued chunks and shuts the pool down), so workers ignore it rather
    than each printing a KeyboardInterrupt traceback. SIGTERM gets its default action back instead of the
    CLI's handler inherited through fork. The signals were blocked while the worker was created (see
    `_signals_held`), so one that arrived in between is handled only now, under these settings."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    if model_path is not None:
        _WORKER["predictor"] = load_predictor(model_path, encoder_threads=1)


@dataclass(frozen=True)
class _Shape:
    """What a scored chunk is turned into where it was scored: how the output is written and what the
    parent needs from it besides."""

    kind: str                    # the output's kind: csv, tsv or parquet
    escape: bool                 # escape spreadsheet formulas (CSV/TSV)
    evidence: bool
    id_column: str | None = None
    keep_frame: bool = False     # the report needs the scored rows themselves


@dataclass
class _Part:
    """One scored chunk, ready to write: CSV/TSV bytes (or, for Parquet or the report, the scored frame), the
    output's columns, and the chunk's share of the summary."""

    rows: int
    columns: list
    counts: tuple
    data: bytes | None = None
    frame: pd.DataFrame | None = None


def _part(scored: pd.DataFrame, shape: _Shape) -> _Part:
    columns = output_columns([c for c in scored.columns if c not in output_columns([], shape.evidence)],
                             shape.evidence)
    if list(scored.columns) != columns:
        scored = scored[columns]
    data = None if shape.kind == "parquet" else csv_bytes(scored, "\t" if shape.kind == "tsv" else ",",
                                                            escape=shape.escape)
    frame = scored if shape.kind == "parquet" or shape.keep_frame else None
    return _Part(len(scored), columns, Summary.count(scored, shape.id_column), data, frame)


def _score_part(predictor, frame: pd.DataFrame, text_column: str, thresholds: dict[str, float] | None,
                shape: _Shape) -> _Part:
    return _part(score_frame(predictor, frame, text_column, shape.evidence, thresholds), shape)


def _score_in_worker(frame: pd.DataFrame, text_column: str, thresholds: dict[str, float] | None,
                     shape: _Shape) -> _Part:
    """In a worker: score the chunk and format its output, so the parent only writes the bytes it gets back."""
    try:
        return _score_part(_WORKER["predictor"], frame, text_column, thresholds, shape)
    finally:
        _release_memory()


def _release_memory() -> None:
    """Give the pages Arrow freed (pandas' strings live in Arrow's pool) back to the system after each chunk:
    its allocator otherwise keeps them, and two workers and the parent each holding a few chunks' worth was
    most of the memory a parallel run took."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _scored_chunks(chunks: Iterator[pd.DataFrame], model_path: str, text_column: str, jobs: int,
                   thresholds: dict[str, float] | None, shape: _Shape) -> Iterator[_Part]:
    """Scored chunks in input order; with jobs > 1, a bounded window of chunks is in flight at once.

    However it ends (done, an error, interrupted, or closed early by the consumer), `chunks` is closed
    here, so the input file is closed now and not whenever the garbage collector gets to it."""
    try:
        yield from _score_chunks(chunks, model_path, text_column, jobs, thresholds, shape)
    finally:
        _close(chunks)


def _score_chunks(chunks: Iterator[pd.DataFrame], model_path: str, text_column: str, jobs: int,
                  thresholds: dict[str, float] | None, shape: _Shape) -> Iterator[_Part]:
    if jobs <= 1:
        predictor = load_predictor(model_path)
        for chunk in chunks:
            yield _score_part(predictor, chunk, text_column, thresholds, shape)
        return
    # Workers are forked after the model is loaded here, so they share its pages instead of each
    # unpickling a copy; where fork is unavailable they load it themselves.
    if "fork" in mp.get_all_start_methods():
        # an encoder-mode model builds its encoder lazily, so each forked worker builds its own: one thread each
        _WORKER["predictor"] = load_predictor(model_path, encoder_threads=1)
        ctx, initargs = mp.get_context("fork"), (None,)
    else:
        ctx, initargs = mp.get_context("spawn"), (model_path,)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=initargs) as pool:
        window: deque = deque()
        try:
            # Start the workers now, before the first chunk is read, so they do not inherit its pages.
            with _signals_held():
                window.append(pool.submit(int))
            window.popleft().result()
            for chunk in chunks:
                with _signals_held():
                    window.append(pool.submit(_score_in_worker, chunk, text_column, thresholds, shape))
                del chunk
                _release_memory()
                if len(window) > jobs:   # one chunk queued behind those being scored
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for future in window:
                future.cancel()


@contextmanager
def _progress(enabled: bool):
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    with tqdm(unit=" rows", file=sys.stderr, dynamic_ncols=True, smoothing=0.1) as bar:
        yield bar


def score_file(input: str, output: str, text_column: str, id_column: str | None = None,
               model_path: str | os.PathLike = "", jobs: int = 1, chunksize: int = 5000, evidence: bool = False,
               engine: str = "local", scheduler: str | None = None, quiet: bool = False,
               encoding: str = "utf-8", keep_formulas: bool = False, report: str | None = None,
               group_by: str | None = None, min_group: int = 10,
               thresholds: dict[str, float] | None = None) -> Summary:
    """Score INPUT into OUTPUT. Raises BatchError, before any work where it can, with what is wrong.

    `thresholds`: per-category overrides, checked by the same input contract as the API's.

    CSV/TSV output escapes cells that a spreadsheet would run as formulas unless `keep_formulas`.
    `report`: also write the HTML survey report there (batch/report.py), counted chunk by chunk,
    per group of the column `group_by` when given."""
    started = time.perf_counter()
    try:
        thresholds = check_thresholds(thresholds) or None
    except InputError as exc:
        raise BatchError(str(exc)) from None
    if chunksize < 1:
        raise BatchError("--chunksize must be at least 1")
    if jobs < 1:
        raise BatchError("--jobs must be at least 1")
    kind = input_kind(input)
    out_kind = "csv" if output == "-" else input_kind(output)
    if input != "-" and not Path(input).is_file():
        raise BatchError(f"{input}: no such file")
    if output != "-" and not Path(output).parent.exists():
        raise BatchError(f"{output}: the folder {Path(output).parent} does not exist")
    if input != "-" and output != "-" and Path(input).resolve() == Path(output).resolve():
        raise BatchError("the output would overwrite the input; choose another OUTPUT")
    try:
        model_meta = verify_artifact(model_path)  # digest and versions, before any work; workers load it
    except ArtifactError as exc:
        raise BatchError(str(exc)) from None
    survey = _survey_report(report, input, output, text_column, group_by, min_group)
    digest = hashlib.sha256() if survey is not None and input != "-" else None
    multiline = False
    if kind != "parquet" and input != "-":
        multiline = precheck_text(input, encoding, digest, find_multiline=engine == "dask")
    elif digest is not None:  # parquet: hashed on its own (precheck only reads text files)
        digest = _file_digest(input)
    if input != "-":
        columns = read_header(input, kind, encoding)
        try:
            _check_input_columns(columns, text_column, evidence, id_column)
            if group_by and group_by not in columns:
                raise FrameError(f"no group column {group_by!r}; the columns are: {', '.join(map(str, columns))}")
        except FrameError as exc:
            raise BatchError(f"{input}: {exc}") from None

    shape = _Shape(out_kind, not keep_formulas, evidence, id_column, keep_frame=survey is not None)
    if engine == "dask":
        from redflags.batch.dask_engine import scored_partitions

        chunks = _parts(scored_partitions(input, kind, text_column, model_path, evidence, scheduler, chunksize,
                                          encoding, multiline, jobs, thresholds), shape)
    elif engine == "local":
        raw_chunks = iter_chunks(input, kind, chunksize, encoding)
        chunks = _scored_chunks(_checked(raw_chunks, input, text_column, evidence, id_column), str(model_path),
                                text_column, jobs, thresholds, shape)
    else:
        raise BatchError(f"unknown engine {engine!r}; use local or dask")

    summary = Summary(id_column=id_column)
    sink = None
    show = not quiet and sys.stderr.isatty()
    try:
        with _progress(show) as bar, _stop_requests() as check_stop:
            for part in chunks:
                check_stop()
                if sink is None:
                    sink = AtomicOutput(output, out_kind, part.columns, escape=not keep_formulas)
                if part.data is not None:
                    sink.write_csv(part.data)
                else:
                    sink.write(part.frame)
                summary.merge(part.counts)
                if survey is not None:
                    _add_to_report(survey, part.frame, input)
                if bar is not None:
                    bar.update(part.rows)
            check_stop()  # not committed if a stop was asked for during the last chunk
        if sink is None:
            raise BatchError(f"{input}: no rows to score")
        page = None if survey is None else survey.render(model_meta, input, digest and digest.hexdigest(),
                                                         time.perf_counter() - started)
        sink.commit()
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    finally:
        chunks.close()  # shut the worker pool or the Dask client down now, not at garbage collection
    if page is not None:
        _write_report(report, page)
    summary.seconds = time.perf_counter() - started
    if not quiet:
        print(summary.render(), file=sys.stderr)
        if page is not None:
            print(f"report: {report}", file=sys.stderr)
    return summary


def _survey_report(report: str | None, input: str, output: str, text_column: str, group_by: str | None,
                   min_group: int):
    """The report's accumulator, after checking where it goes (None without --report)."""
    if report is None:
        if group_by:
            raise BatchError("--group-by needs --report")
        return None
    from redflags.batch.report import ReportError, SurveyReport

    target = Path(report)
    if not target.parent.exists():
        raise BatchError(f"{report}: the folder {target.parent} does not exist")
    if any(name != "-" and target.resolve() == Path(name).resolve() for name in (input, output)):
        raise BatchError("the report would overwrite the input or the output; choose another --report path")
    try:
        return SurveyReport(text_column, group_by, min_group)
    except ReportError as exc:
        raise BatchError(str(exc)) from None


def _add_to_report(survey, scored: pd.DataFrame, input: str) -> None:
    from redflags.batch.report import ReportError

    try:
        survey.add(scored)
    except ReportError as exc:  # standard input: the group column is only known from the first chunk
        raise BatchError(f"{input}: {exc}") from None


def _file_digest(name: str):
    digest = hashlib.sha256()
    with open(name, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest


def _write_report(report: str, page: str) -> None:
    """Temp file beside the report, then one rename: never a half-written report."""
    target = Path(report)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, umask_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _parts(frames: Iterator[pd.DataFrame], shape: _Shape) -> Iterator[_Part]:
    """Scored frames (the Dask engine's) as parts, formatted here; closing this closes `frames`."""
    try:
        for frame in frames:
            yield _part(frame, shape)
    finally:
        _close(frames)


def _checked(chunks: Iterator[pd.DataFrame], name: str, text_column: str, evidence: bool,
             id_column: str | None) -> Iterator[pd.DataFrame]:
    """Check the columns of the first chunk (standard input has no header to read beforehand)."""
    try:
        for i, chunk in enumerate(chunks):
            if i == 0:
                try:
                    _check_input_columns(chunk.columns, text_column, evidence, id_column)
                except FrameError as exc:
                    raise BatchError(f"{name}: {exc}") from None
            yield chunk
    finally:
        _close(chunks)


def _close(chunks) -> None:
    """Close a chunk iterator (a generator, or anything with close()): it closes its own source in turn."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _check_input_columns(columns, text_column: str, evidence: bool, id_column: str | None) -> None:
    columns = list(columns)
    check_columns(columns, text_column, evidence)
    if id_column and id_column not in columns:
        raise FrameError(f"no id column {id_column!r}; the columns are: {', '.join(map(str, columns))}")

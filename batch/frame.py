"""Score a DataFrame of texts: the columns the batch scorer, the Dask engine and /v1/score-csv all write."""
from __future__ import annotations

import csv
import functools
import io
import json

import numpy as np
import pandas as pd

from redflags.model.inputs import text_problem
from redflags.model.predict import Predictor
from redflags.model.taxonomy import CATEGORIES

PROBABILITY_FORMAT = "%.4f"   # one number format for probabilities in every CSV we write
# Every 4-decimal probability as text, so a CSV's probabilities are written by a table lookup rather than one
# format call per cell (which cost as much as a fifth of scoring a survey answer).
_PROBABILITY_TEXT = np.array([PROBABILITY_FORMAT % (i / 10_000) for i in range(10_001)], dtype=object)
SCORE_COLUMNS = ["red_flags", "flag_count", *[f"p_{c}" for c in CATEGORIES], "recommendation", "error"]


class FrameError(ValueError):
    """The input cannot be scored at all (not a per-row problem): the message says why."""


def output_columns(input_columns, evidence: bool = False) -> list[str]:
    return [*input_columns, *SCORE_COLUMNS, *(["evidence"] if evidence else [])]


def check_columns(columns, text_column: str, evidence: bool = False) -> None:
    columns = list(columns)
    if text_column not in columns:
        raise FrameError(f"no column named {text_column!r}; the columns are: {', '.join(map(str, columns))}")
    clash = [c for c in SCORE_COLUMNS + (["evidence"] if evidence else []) if c in columns]
    if clash:
        raise FrameError(f"the input already has column(s) {clash}, which the scorer writes; rename them first")


def cell_text(value):
    """A cell as the text to score: missing cells (NaN, NA, None) as None, other non-strings (a parquet
    column of numbers) as their string form."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value if isinstance(value, str) else str(value)


def score_frame(predictor: Predictor, frame: pd.DataFrame, text_column: str, evidence: bool = False,
                thresholds: dict[str, float] | None = None) -> pd.DataFrame:
    """Return `frame` with the score columns appended; rows that cannot be scored keep an `error` and blanks."""
    values = [cell_text(v) for v in frame[text_column].tolist()]
    problems = [text_problem(v) for v in values]
    good = [i for i, p in enumerate(problems) if not p]
    texts = [values[i] for i in good]
    n = len(frame)
    probs = np.full((n, len(CATEGORIES)), np.nan)
    flags = [""] * n
    counts = np.zeros(n, dtype=np.int64)
    actions = [""] * n
    proofs = [""] * n
    if evidence:
        predictions = predictor.predict(texts, evidence=True, thresholds=thresholds, advice=False)
        for i, p in zip(good, predictions):
            probs[i] = [p.scores[c] for c in CATEGORIES]
            flags[i] = ";".join(f.category for f in p.red_flags)
            counts[i] = len(p.red_flags)
            actions[i] = p.recommendation.action
            proofs[i] = json.dumps({f.category: [[e.start, e.end] for e in f.evidence] for f in p.red_flags})
    elif good:
        got_probs, got_flags, got_counts, got_actions = batch_scores(predictor, texts, thresholds)
        probs[good] = got_probs
        counts[good] = got_counts
        for i, f, a in zip(good, got_flags, got_actions):
            flags[i] = f
            actions[i] = a
    scored = np.zeros(n, dtype=bool)
    scored[good] = True
    out = frame.copy(deep=False)   # the input's columns are not changed, only new ones added
    out["red_flags"] = flags
    out["flag_count"] = pd.arrays.IntegerArray(counts, ~scored)
    for k, c in enumerate(CATEGORIES):
        out[f"p_{c}"] = np.round(probs[:, k], 4)
    out["recommendation"] = actions
    out["error"] = problems
    if evidence:
        out["evidence"] = proofs
    return out


def batch_scores(predictor: Predictor, texts: list[str], thresholds: dict[str, float] | None = None
                 ) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """What `Predictor.predict(texts, evidence=False, advice=False)` gives a batch file, from the same
    `Predictor.assess` but without one Prediction object per text: the probabilities (n x categories), each
    row's flags joined by ';' (in predict's order), the number of flags and the recommended action.
    `tests/code/test_batch.py` proves it equal to `predict` row by row."""
    assessed = predictor.assess(texts, None, thresholds)
    counts = assessed.flagged.sum(axis=1)
    flags = [""] * len(texts)
    cache: dict[tuple, str] = {}
    for i in np.flatnonzero(counts).tolist():
        key = tuple(assessed.flags(i))
        text = cache.get(key)
        if text is None:
            text = cache[key] = ";".join(CATEGORIES[k] for k in key)
        flags[i] = text
    return assessed.probabilities, flags, counts, [d.action for d in assessed.decisions]


def probabilities_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its probability columns as PROBABILITY_FORMAT text (blank where a row was not scored),
    for CSV output; other columns, the input's own numbers included, are left as they are."""
    out = frame.copy(deep=False)
    for c in CATEGORIES:
        values = out[f"p_{c}"].to_numpy(dtype=float, na_value=np.nan)
        scored = ~np.isnan(values)
        text = np.full(len(values), "", dtype=object)
        text[scored] = _PROBABILITY_TEXT[np.rint(np.clip(values[scored], 0.0, 1.0) * 10_000).astype(np.int64)]
        out[f"p_{c}"] = text
    return out


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(frame: pd.DataFrame, sep: str = ",", header: bool = False, escape: bool = True) -> bytes:
    """`frame` (score columns included) as UTF-8 CSV/TSV text, exactly what `probabilities_as_text` and, when
    `escape`, `escape_formulas`, then `to_csv(index=False)` write, but formatted a whole column at a time by
    Arrow. Frames with a column that is not text (a Parquet number, say) go through pandas as before."""
    columns = _arrow_columns(frame, sep, escape)
    if columns is None:
        if escape:
            frame = escape_formulas(frame)
        return probabilities_as_text(frame).to_csv(sep=sep, index=False, header=header).encode("utf-8")
    head = csv_header(frame.columns, sep) if header else b""
    if not len(frame):
        return head
    import pyarrow as pa
    import pyarrow.compute as pc

    text = _arrow_text
    columns[-1] = pc.binary_join_element_wise(columns[-1], text(""), text("\n"))   # the line's end
    lines = pc.binary_join_element_wise(*columns, text(sep))
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # one line per row, each already ending in its line terminator: their bytes lie end to end in the data buffer
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return head + memoryview(lines.buffers()[2])[start:end].tobytes()


def csv_header(columns, sep: str = ",") -> bytes:
    """The header line `to_csv` writes for these columns (the csv module's minimal quoting, "\n" at the end)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, quotechar='"', doublequote=True, lineterminator="\n",
               quoting=csv.QUOTE_MINIMAL).writerow([str(c) for c in columns])
    return buffer.getvalue().encode("utf-8")


def _arrow_columns(frame: pd.DataFrame, sep: str, escape: bool):
    """Each column of `frame` as an Arrow large_string array of finished CSV cells (escaped, quoted as
    csv.QUOTE_MINIMAL quotes: a cell holding the separator, a quote or a line feed; blanks for missing), or
    None when a column is not text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if sep not in (",", "\t"):
        return None
    special = "[" + sep + '"\n]'   # what csv.QUOTE_MINIMAL quotes, with pandas' line terminator "\n"
    text = _arrow_text
    out = []
    for name in frame.columns:
        series = frame[name]
        if name in _PROBABILITY_COLUMNS:
            values = series.to_numpy(dtype=float, na_value=np.nan)
            index = np.full(len(values), len(_PROBABILITY_TEXT), dtype=np.int64)   # the blank after the table
            scored = ~np.isnan(values)
            index[scored] = np.rint(np.clip(values[scored], 0.0, 1.0) * 10_000).astype(np.int64)
            out.append(_probability_arrow().take(pa.array(index)))
            continue
        if name == "flag_count" and isinstance(series.dtype, pd.Int64Dtype):
            array = pa.array(series.array.to_numpy(dtype=np.int64, na_value=0), mask=series.isna().to_numpy())
            out.append(pc.fill_null(array.cast(pa.large_string()), ""))
            continue
        if not (isinstance(series.dtype, pd.StringDtype) or series.dtype == object):
            return None
        try:
            array = pa.array(series, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if escape:
            risky = pc.match_substring_regex(array, "^[=+\\-@\t\r]")
            if pc.any(risky).as_py():
                array = pc.if_else(pc.fill_null(risky, False),
                                   pc.binary_join_element_wise(text("'"), array, text("")), array)
        if array.null_count:
            array = pc.fill_null(array, "")
        quote = pc.match_substring_regex(array, special)
        if pc.any(quote).as_py():
            quoted = pc.binary_join_element_wise(text('"'), pc.replace_substring(array, '"', '""'), text('"'),
                                                 text(""))
            array = pc.if_else(quote, quoted, array)
        out.append(array)
    return out


_PROBABILITY_COLUMNS = frozenset(f"p_{c}" for c in CATEGORIES)


@functools.cache
def _probability_arrow():
    """_PROBABILITY_TEXT as an Arrow array, with a blank at the end for rows that were not scored."""
    import pyarrow as pa

    return pa.array([*_PROBABILITY_TEXT.tolist(), ""], type=pa.large_string())


def _arrow_text(value: str):
    """A large_string scalar (the separators and quotes joined between Arrow columns)."""
    import pyarrow as pa

    return pa.scalar(value, pa.large_string())


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (starting with = + - @ tab or CR) get a leading
    apostrophe, so a scored CSV opened in Excel or Sheets cannot execute what a respondent typed."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            values = out[column]
            risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
            if risky.any():
                out[column] = values.where(~risky, "'" + values.astype(str))
    return out


def read_csv_bytes(raw: bytes, text_column: str, encoding: str = "utf-8", evidence: bool = False) -> pd.DataFrame:
    """Parse an uploaded CSV held in memory (the HTTP endpoint's input)."""
    if not raw.strip():
        raise FrameError("the CSV is empty")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise FrameError(f"the CSV is not valid {encoding} (line {line}); re-save it as UTF-8") from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FrameError(f"the CSV cannot be parsed: {exc}") from None
    check_columns(frame.columns, text_column, evidence)
    if frame.empty:
        raise FrameError("the CSV has a header but no rows")
    return frame

"""Score a DataFrame of texts: the columns the batch scorer, the Dask engine and /v1/score-csv all write."""
from __future__ import annotations

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
    predictions = predictor.predict([values[i] for i in good], evidence=evidence, thresholds=thresholds,
                                    advice=False)
    n = len(frame)
    probs = np.full((n, len(CATEGORIES)), np.nan)
    flags = [""] * n
    counts = pd.array([pd.NA] * n, dtype="Int64")
    actions = [""] * n
    proofs = [""] * n
    for i, p in zip(good, predictions):
        probs[i] = [p.scores[c] for c in CATEGORIES]
        flags[i] = ";".join(f.category for f in p.red_flags)
        counts[i] = len(p.red_flags)
        actions[i] = p.recommendation.action
        if evidence:
            proofs[i] = json.dumps({f.category: [[e.start, e.end] for e in f.evidence] for f in p.red_flags})
    out = frame.copy()
    out["red_flags"] = flags
    out["flag_count"] = counts
    for k, c in enumerate(CATEGORIES):
        out[f"p_{c}"] = np.round(probs[:, k], 4)
    out["recommendation"] = actions
    out["error"] = problems
    if evidence:
        out["evidence"] = proofs
    return out


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

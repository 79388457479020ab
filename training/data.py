"""Load and validate the labelled corpus: every problem is reported with the file, row id and what is wrong."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from redflags.model.artifact import sha256_of
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS

REQUIRED_COLUMNS = ("id", "text", "labels", "recommendation")
OPTIONAL_COLUMNS = ("style",)


class CorpusError(ValueError):
    """The corpus file breaks the schema; the message names the file, the row id and the problem."""


@dataclass(frozen=True)
class Corpus:
    """The validated corpus: texts, a label indicator matrix in CATEGORIES order, and recommendations."""

    frame: pd.DataFrame
    sha256: str
    path: Path

    @property
    def texts(self) -> list[str]:
        return self.frame["text"].tolist()

    @property
    def label_sets(self) -> list[list[str]]:
        return self.frame["label_list"].tolist()

    @property
    def Y(self) -> np.ndarray:
        """Binary matrix, one column per category in CATEGORIES order."""
        return label_matrix(self.label_sets)

    @property
    def recommendations(self) -> np.ndarray:
        return self.frame["recommendation"].to_numpy()

    def __len__(self) -> int:
        return len(self.frame)


def label_matrix(label_sets: list[list[str]]) -> np.ndarray:
    index = {c: i for i, c in enumerate(CATEGORIES)}
    Y = np.zeros((len(label_sets), len(CATEGORIES)), dtype=np.int8)
    for row, labels in enumerate(label_sets):
        for label in labels:
            Y[row, index[label]] = 1
    return Y


def parse_labels(cell: str) -> list[str]:
    """Split a `;`-joined label cell; blank means no red flag."""
    return [part.strip() for part in cell.split(";") if part.strip()]


def load_anecdotes(path: str | Path, text_column: str = "text", extra_columns: bool = False) -> Corpus:
    """Read and validate `path`; raise CorpusError listing every problem found (up to 20).

    Why all at once: a labeller fixing a file wants the whole list, not one error per run.
    `text_column` names the text when it is not `text`; `extra_columns` allows columns beyond the
    corpus format (a user's labelled file may carry its own, such as a source).
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not valid UTF-8 ({exc})") from exc
    except (pd.errors.ParserError, csv.Error) as exc:
        raise CorpusError(f"{path}: not a readable CSV ({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise CorpusError(f"{path}: the file is empty") from exc

    if text_column != "text":
        if text_column not in frame.columns:
            raise CorpusError(f"{path}: no column {text_column!r}; columns are {list(frame.columns)}")
        frame = frame.drop(columns=[c for c in ("text",) if c in frame.columns]).rename(columns={text_column: "text"})
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    unknown = [] if extra_columns else [c for c in frame.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        raise CorpusError(
            f"{path}: wrong columns: missing {missing}, unexpected {unknown}; "
            f"expected {list(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    if frame.empty:
        raise CorpusError(f"{path}: no rows")

    problems: list[str] = []
    seen_ids: dict[str, int] = {}
    seen_texts: dict[str, str] = {}
    label_lists: list[list[str]] = []
    for line, row in enumerate(frame.itertuples(index=False), start=2):
        rid = row.id.strip() or f"<blank id on line {line}>"
        where = f"{path}: row {rid}"
        if not row.id.strip():
            problems.append(f"{path}: line {line}: blank id")
        elif rid in seen_ids:
            problems.append(f"{where}: duplicate id (also on line {seen_ids[rid]})")
        seen_ids.setdefault(rid, line)
        text = row.text.strip()
        if not text:
            problems.append(f"{where}: empty text")
        else:
            key = " ".join(text.lower().split())
            if key in seen_texts:
                problems.append(f"{where}: duplicate text (same as row {seen_texts[key]})")
            seen_texts.setdefault(key, rid)
        labels = parse_labels(row.labels)
        bad = [label for label in labels if label not in CATEGORIES]
        if bad:
            problems.append(f"{where}: unknown label(s) {bad}; allowed: {list(CATEGORIES)}")
        if len(set(labels)) != len(labels):
            problems.append(f"{where}: a label is repeated in {row.labels!r}")
        if row.recommendation not in RECOMMENDATIONS:
            problems.append(f"{where}: bad recommendation {row.recommendation!r}; allowed: {list(RECOMMENDATIONS)}")
        elif not labels and row.recommendation == "end_interview":
            problems.append(f"{where}: end_interview with no red flag")
        label_lists.append([label for label in labels if label in CATEGORIES])
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise CorpusError(f"{len(problems)} problem(s) in {path}:\n  {shown}{more}")

    frame = frame.assign(label_list=label_lists)
    return Corpus(frame=frame, sha256=sha256_of(path), path=path)

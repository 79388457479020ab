"""`redflags review SCORED.csv -o TO_LABEL.csv`: the scored rows a person should label first.

Rows whose probability is closest to a category's threshold are the ones the model is least sure
of, so a label there teaches it most. The pick is spread across categories and length bands (a
round robin over (category, band) strata, each ordered by margin), and skips near-duplicates (the
same normalised text, or word TF-IDF cosine >= 0.8 with a row already picked). The scored file is
read in chunks and only the closest rows of each stratum are kept, so a file of any length fits.

The output is the corpus format (`id, text, labels, recommendation`) with the model's guess pre-filled
for the labeller to correct, and a `note` column (the corpus loader accepts extra columns for a
user's file: `redflags train --extra` reads it as it is).
"""
from __future__ import annotations

import heapq
import os
from pathlib import Path

import numpy as np
import pandas as pd

from redflags.batch.frame import escape_formulas
from redflags.model.taxonomy import CATEGORIES
from redflags.training.evaluate import LENGTH_BANDS

NEAR_DUPLICATE = 0.8      # word TF-IDF cosine at or above which two texts count as the same account
OUTPUT_COLUMNS = ["id", "text", "labels", "recommendation", "note"]


class ReviewError(ValueError):
    """The scored file cannot be reviewed (missing columns, unreadable); the message says why."""


def length_band(words: int) -> str:
    for name, low, high in LENGTH_BANDS:
        if low <= words < high:
            return name
    return LENGTH_BANDS[-1][0]


def model_thresholds(model_path: str | os.PathLike) -> np.ndarray:
    """The per-category thresholds the model flags at (in CATEGORIES order)."""
    from redflags.model.artifact import ArtifactError, load_predictor

    try:
        predictor = load_predictor(model_path)
    except ArtifactError as exc:
        raise ReviewError(str(exc)) from None
    return np.asarray(predictor.thresholds, dtype=float)


def candidates(chunks, thresholds: np.ndarray, text_column: str, id_column: str | None, per_stratum: int):
    """Per (category, length band), the `per_stratum` rows closest to that category's threshold (each row
    goes to the stratum of its closest category), without exact duplicates: {stratum: rows, closest first}."""
    heaps: dict[tuple[str, str], list] = {}
    seen: set[str] = set()
    row_number = 0
    prob_columns = [f"p_{c}" for c in CATEGORIES]
    for chunk in chunks:
        missing = [c for c in [text_column, "error", "red_flags", "recommendation", *prob_columns,
                               *([id_column] if id_column else [])] if c not in chunk.columns]
        if missing:
            raise ReviewError(f"not a file written by `redflags score` with this text column: no column(s) {missing}; "
                              f"the columns are: {', '.join(map(str, chunk.columns))}")
        numbers = np.arange(row_number + 1, row_number + 1 + len(chunk))
        row_number += len(chunk)
        good = (chunk["error"] == "").to_numpy()
        if not good.any():
            continue
        chunk, numbers = chunk[good], numbers[good]
        probs = chunk[prob_columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        margins = np.abs(probs - thresholds[None, :])
        closest = np.argmin(np.where(np.isnan(margins), np.inf, margins), axis=1)
        margin = margins[np.arange(len(chunk)), closest]
        texts = chunk[text_column].astype(str).tolist()
        ids = chunk[id_column].astype(str).tolist() if id_column else [f"r{n}" for n in numbers]
        flags, actions = chunk["red_flags"].astype(str).tolist(), chunk["recommendation"].astype(str).tolist()
        for i in range(len(chunk)):
            if not np.isfinite(margin[i]):
                continue
            key = " ".join(texts[i].lower().split())
            if key in seen:
                continue
            k = int(closest[i])
            stratum = (CATEGORIES[k], length_band(len(texts[i].split())))
            heap = heaps.setdefault(stratum, [])
            # a max-heap on margin (negated), ties broken by row order so the result does not depend on chunking
            item = (-float(margin[i]), -int(numbers[i]), key, {
                "id": ids[i], "text": texts[i], "labels": flags[i], "recommendation": actions[i],
                "category": CATEGORIES[k], "p": float(probs[i, k]), "threshold": float(thresholds[k]),
                "margin": float(margin[i]), "band": stratum[1], "row": int(numbers[i])})
            if len(heap) < per_stratum:
                heapq.heappush(heap, item)
                seen.add(key)
            elif item[:2] > heap[0][:2]:
                dropped = heapq.heappushpop(heap, item)
                seen.discard(dropped[2])
                seen.add(key)
    return {stratum: sorted((entry[3] for entry in heap), key=lambda r: (r["margin"], r["row"]))
            for stratum, heap in heaps.items()}


def pick(strata: dict[tuple[str, str], list[dict]], n: int) -> list[dict]:
    """Round robin over the strata (categories in taxonomy order, bands short to long), each time the
    next-closest row of the stratum that is not a near-duplicate of a row already picked."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    pool = [row for rows in strata.values() for row in rows]
    if not pool:
        return []
    matrix = TfidfVectorizer(sublinear_tf=True).fit_transform([row["text"] for row in pool])
    index = {id(row): i for i, row in enumerate(pool)}
    band_order = {name: j for j, (name, _, _) in enumerate(LENGTH_BANDS)}
    order = sorted(strata, key=lambda s: (CATEGORIES.index(s[0]), band_order[s[1]]))
    queues = {s: list(reversed(strata[s])) for s in order}
    chosen: list[dict] = []
    chosen_rows: list[int] = []
    while len(chosen) < n and any(queues.values()):
        for stratum in order:
            queue = queues[stratum]
            while queue:
                row = queue.pop()
                i = index[id(row)]
                if chosen_rows and (matrix[chosen_rows] @ matrix[i].T).max() >= NEAR_DUPLICATE:
                    continue
                chosen.append(row)
                chosen_rows.append(i)
                break
            if len(chosen) >= n:
                break
    return chosen


def review_frame(rows: list[dict]) -> pd.DataFrame:
    notes = [f"closest to the {r['category']} threshold (p {r['p']:.2f}, threshold {r['threshold']:.2f}); "
             f"{r['band']}; labels and recommendation are the model's guess: correct them" for r in rows]
    return pd.DataFrame({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows],
                         "labels": [r["labels"] for r in rows], "recommendation": [r["recommendation"] for r in rows],
                         "note": notes}, columns=OUTPUT_COLUMNS)


def write_review(scored: str, output: str, n: int = 200, text_column: str = "text", id_column: str | None = None,
                 model_path: str | os.PathLike = "", encoding: str = "utf-8", chunksize: int = 20_000) -> int:
    """Pick up to `n` rows of the scored CSV and write them to `output`; returns how many were picked."""
    if n < 1:
        raise ReviewError("--n must be at least 1")
    if not Path(scored).is_file():
        raise ReviewError(f"{scored}: no such file")
    if not Path(output).parent.exists():
        raise ReviewError(f"{output}: the folder {Path(output).parent} does not exist")
    if Path(output).resolve() == Path(scored).resolve():
        raise ReviewError("the output would overwrite the scored file; choose another OUTPUT")
    thresholds = model_thresholds(model_path)
    # every stratum keeps n rows: enough for n picks even if all came from one stratum
    try:
        with pd.read_csv(scored, dtype=str, keep_default_na=False, encoding=encoding, chunksize=chunksize,
                         index_col=False) as reader:
            strata = candidates(reader, thresholds, text_column, id_column, per_stratum=n)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ReviewError(f"{scored}: cannot be read as a {encoding} CSV ({exc})") from None
    rows = pick(strata, n)
    if not rows:
        raise ReviewError(f"{scored}: no scored row to review (every row has an error)")
    frame = escape_formulas(review_frame(rows))
    tmp = Path(output).with_name(f".{Path(output).name}.part")
    try:
        frame.to_csv(tmp, index=False, encoding="utf-8")
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return len(rows)

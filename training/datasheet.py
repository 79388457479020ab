"""Tables for data/README.md, produced by a command (`make data-report`), never typed by hand.

Counts per category, recommendation, style and length, and the blind re-labelling agreement
(Cohen's kappa per category and for the recommendation) from data/relabel/.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
from sklearn.metrics import cohen_kappa_score

from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS
from redflags.training.data import load_anecdotes, parse_labels


def counts_table(path: Path, corpus=None) -> str:
    corpus = corpus or load_anecdotes(path)
    frame = corpus.frame
    sets = corpus.label_sets
    n = len(frame)
    lines = [f"Rows: {n}. SHA-256: `{corpus.sha256}`.", "",
             "| category | positives | share | only label | with others |", "|---|---|---|---|---|"]
    for c in CATEGORIES:
        pos = sum(c in s for s in sets)
        only = sum(s == [c] for s in sets)
        lines.append(f"| {c} | {pos} | {pos / n:.1%} | {only} | {pos - only} |")
    none = sum(not s for s in sets)
    multi = sum(len(s) >= 2 for s in sets)
    lines += ["", f"No red flag: {none}. Two or more categories: {multi}.", "",
              "| recommendation | rows | no-flag rows |", "|---|---|---|"]
    for r in RECOMMENDATIONS:
        mask = frame["recommendation"] == r
        lines.append(f"| {r} | {int(mask.sum())} | {sum(1 for s, m in zip(sets, mask) if m and not s)} |")
    words = frame["text"].str.split().str.len()
    lines += ["", "| words per text | value |", "|---|---|"]
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        lines.append(f"| {int(q * 100)}th percentile | {int(words.quantile(q))} |")
    lines.append(f"| under 40 words | {(words < 40).mean():.0%} |")
    lines.append(f"| over 150 words | {(words > 150).mean():.0%} |")
    styles = Counter(frame["style"]) if "style" in frame else Counter()
    lines += ["", "Styles (voice tags): " + ", ".join(f"{s} {k}" for s, k in styles.most_common())]
    return "\n".join(lines)


ROUNDS_1_TO_5_ROWS = 3729   # the corpus when the first two samples were drawn


def _kappa_table(folder: Path) -> tuple[list[str], int, int]:
    """Kappa between the first labels of a sample and its blind second pass (before adjudication)."""
    first = pd.read_csv(folder / "first_pass.csv", dtype=str, keep_default_na=False).set_index("id")
    second = {r["id"]: r for r in map(json.loads, (folder / "second_pass.jsonl").read_text("utf-8").splitlines())}
    adjudicated = [line for line in (folder / "adjudication.jsonl").read_text("utf-8").splitlines() if line.strip()]
    ids = list(first.index)
    lines = ["| label | Cohen's kappa | first pass positives | second pass positives | disagreements |",
             "|---|---|---|---|---|"]
    for c in CATEGORIES:
        a = [int(c in parse_labels(first.loc[i, "labels"])) for i in ids]
        b = [int(c in second[i]["labels"]) for i in ids]
        lines.append(f"| {c} | {cohen_kappa_score(a, b):.3f} | {sum(a)} | {sum(b)} | {sum(x != y for x, y in zip(a, b))} |")
    a = [first.loc[i, "recommendation"] for i in ids]
    b = [second[i]["recommendation"] for i in ids]
    agree = sum(x == y for x, y in zip(a, b))
    lines.append(f"| recommendation | {cohen_kappa_score(a, b):.3f} | | | {len(ids) - agree} |")
    return lines, len(ids), len(adjudicated)


def agreement_table(folder: Path, n_rows: int) -> str:
    """The agreement tables of every blind re-label: rounds 1-5 (folder itself) and round 6 (folder/round6)."""
    table, n, adjudicated = _kappa_table(folder)
    lines = [f"Rounds 1-5: blind second pass on a random {n}-row sample ({n / ROUNDS_1_TO_5_ROWS:.0%} of the "
             f"{ROUNDS_1_TO_5_ROWS} rows of rounds 1-5, drawn in two parts: one from the first 1,853 rows, one from "
             "the rows added after).", "", *table, "",
             f"Rows with any disagreement: {adjudicated}; each was adjudicated by a third reader and the decision "
             "written into data/anecdotes.csv (data/relabel/adjudication.jsonl has the reasons)."]
    round6 = folder / "round6"
    if round6.is_dir():
        table, n, adjudicated = _kappa_table(round6)
        new_rows = n_rows - ROUNDS_1_TO_5_ROWS
        lines += ["", f"Round 6 (the real-voices rows): blind second pass on a random {n}-row sample "
                      f"({n / max(new_rows, 1):.0%} of the {new_rows} rows added), 10% of each slice.", "", *table, "",
                  f"Rows with any disagreement: {adjudicated}; each was adjudicated by a third reader and the "
                  "decision written into data/anecdotes.csv (data/relabel/round6/adjudication.jsonl)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0] if argv else "data/anecdotes.csv")
    corpus = load_anecdotes(path)
    print(counts_table(path, corpus))
    relabel = path.parent / "relabel"
    if relabel.is_dir():
        print()
        print(agreement_table(relabel, len(corpus)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

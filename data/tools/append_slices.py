#!/usr/bin/env python3
"""Append checked JSONL slices to data/anecdotes.csv with fresh ids (a00001, ...), in a seeded shuffle.

Usage: python data/tools/append_slices.py SLICE.jsonl [...] [--csv data/anecdotes.csv] [--seed N]

Rows whose text (case and spacing folded) is already in the corpus are skipped and counted.
Run data/tools/check_slice.py on the slices first, and the corpus report after.
"""
import argparse
import csv
import json
import random
from pathlib import Path

COLUMNS = ["id", "text", "labels", "recommendation", "style"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("slices", nargs="+")
    ap.add_argument("--csv", default="data/anecdotes.csv")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--map-out", default=None, help="write {slice-name:line: new id} as JSON here")
    args = ap.parse_args()
    path = Path(args.csv)
    existing = []
    if path.exists():
        with open(path, encoding="utf-8", newline="") as fh:
            existing = list(csv.DictReader(fh))
    seen = {" ".join(r["text"].lower().split()) for r in existing}
    new, skipped = [], 0
    for name in args.slices:
        for number, line in enumerate(open(name, encoding="utf-8"), 1):
            if not line.strip():
                continue
            r = json.loads(line)
            r["_from"] = f"{Path(name).stem}:{number}"
            key = " ".join(r["text"].lower().split())
            if key in seen:
                skipped += 1
                continue
            seen.add(key)
            new.append(r)
    random.Random(args.seed).shuffle(new)
    start = max((int(r["id"][1:]) for r in existing), default=0) + 1
    rows = existing + [{"id": f"a{start + i:05d}", "text": r["text"], "labels": ";".join(r["labels"]),
                        "recommendation": r["recommendation"], "style": r["style"]} for i, r in enumerate(new)]
    if args.map_out:
        Path(args.map_out).write_text(json.dumps({r["_from"]: f"a{start + i:05d}" for i, r in enumerate(new)},
                                                 indent=0), encoding="utf-8")
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    print(f"appended {len(new)} rows (skipped {skipped} duplicates); {len(rows)} rows in {path}")


if __name__ == "__main__":
    main()

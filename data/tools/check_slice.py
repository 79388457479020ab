#!/usr/bin/env python3
"""Check one corpus slice (JSONL) written by a corpus author before it is merged.

Usage: python3 data/tools/check_slice.py NEW.jsonl [more.jsonl ...] [--against data/anecdotes.csv]

Each line: {"text": str, "labels": [category ids], "recommendation": id, "style": short tag}.
Prints counts and problems; exits 1 on a hard problem (bad JSON, unknown id, empty text,
end_interview with no label). Texts may use the categories' own words, as real writers do.
Near-duplicates and repeated openings are listed as warnings.
"""
import json
import re
import sys
from collections import Counter

CATEGORIES = ["disrespect", "discrimination", "harassment", "bait_and_switch",
              "unreasonable_task", "disorganized_process", "pressure_tactics",
              "toxic_culture", "scam"]
RECOMMENDATIONS = ["continue", "proceed_with_caution", "finish_then_withdraw", "end_interview"]


def words(t):
    return re.findall(r"[a-z0-9']+", t.lower())


def shingles(t, k=3):
    w = words(t)
    return {tuple(w[i:i + k]) for i in range(max(1, len(w) - k + 1))}


def main(argv):
    against = None
    if "--against" in argv:
        i = argv.index("--against")
        against, argv = argv[i + 1], argv[:i] + argv[i + 2:]
    paths = argv
    rows, hard = [], []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as e:
                    hard.append(f"{path}:{n}: bad JSON: {e}")
                    continue
                r["_where"] = f"{path}:{n}"
                rows.append(r)
    for r in rows:
        w = r["_where"]
        if set(r) - {"_where"} != {"text", "labels", "recommendation", "style"}:
            hard.append(f"{w}: keys must be text, labels, recommendation, style; got {sorted(set(r) - {'_where'})}")
            continue
        if not isinstance(r["text"], str) or not r["text"].strip():
            hard.append(f"{w}: empty text")
        if not isinstance(r["labels"], list) or any(l not in CATEGORIES for l in r["labels"]):
            hard.append(f"{w}: bad labels {r['labels']}")
        if len(set(r["labels"])) != len(r["labels"]):
            hard.append(f"{w}: repeated label")
        if r["recommendation"] not in RECOMMENDATIONS:
            hard.append(f"{w}: bad recommendation {r['recommendation']}")
        if not r["labels"] and r["recommendation"] == "end_interview":
            hard.append(f"{w}: end_interview with no label")
    good = [r for r in rows if isinstance(r.get("labels"), list) and isinstance(r.get("text"), str)]
    n = len(good)
    cat = Counter(l for r in good for l in r["labels"])
    rec = Counter(r.get("recommendation") for r in good)
    none = sum(1 for r in good if not r["labels"])
    multi = sum(1 for r in good if len(r["labels"]) >= 2)
    lens = [len(r["text"].split()) for r in good]
    print(f"rows {n}; no flag {none}; two+ labels {multi}")
    print("per category: " + ", ".join(f"{c} {cat[c]}" for c in CATEGORIES))
    print("per recommendation: " + ", ".join(f"{r} {rec[r]}" for r in RECOMMENDATIONS))
    if n:
        print(f"under 40 words: {sum(l < 40 for l in lens) / n:.0%}; over 150 words: {sum(l > 150 for l in lens) / n:.0%}")
    openings = Counter(" ".join(words(r["text"])[:3]) for r in good)
    rep = [(o, k) for o, k in openings.most_common(10) if k > 2]
    if rep:
        print("WARNING openings used more than twice: " + "; ".join(f"'{o}' x{k}" for o, k in rep))
    sh = [shingles(r["text"]) for r in good]
    for i in range(n):
        for j in range(i + 1, n):
            a, b = sh[i], sh[j]
            if a and b and len(a & b) / len(a | b) > 0.35:
                print(f"WARNING near-duplicate: {good[i]['_where']} ~ {good[j]['_where']}")
    if against:
        import csv
        with open(against, encoding="utf-8", newline="") as fh:
            old = [r["text"] for r in csv.DictReader(fh)]
        old_sh = [shingles(t) for t in old]
        for i in range(n):
            for j, b in enumerate(old_sh):
                a = sh[i]
                if a and b and len(a & b) / len(a | b) > 0.35:
                    print(f"WARNING near-duplicate of corpus row {j + 2} ({against}): {good[i]['_where']}")
        all_openings = Counter(" ".join(words(t)[:3]) for t in old) + openings
        limit = max(10, int(0.02 * (len(old) + n)))
        for o, k in all_openings.most_common(5):
            if k > limit - 3 and openings[o]:
                print(f"WARNING opening '{o}' used {k} times across corpus and slice (limit {limit}); vary it")
    for h in hard:
        print("PROBLEM " + h)
    return 1 if hard else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

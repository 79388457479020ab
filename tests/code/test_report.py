"""The survey report: counted chunk by chunk, small groups pooled, phrases bounded, input escaped, one file."""
import base64
import hashlib
import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from redflags.batch import report as report_module
from redflags.batch.report import OTHER, SurveyReport, normalise_phrase, wilson_interval
from redflags.batch.score import BatchError, score_file
from redflags.model.taxonomy import CATEGORIES

VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr"}


class StrictParser(HTMLParser):
    """Fails on a closing tag that does not match the open one; collects images, links and scripts."""

    def __init__(self):
        super().__init__()
        self.stack, self.images, self.external, self.scripts = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if attrs.get(key, "").startswith(("http:", "https:", "//")):
                self.external.append(attrs[key])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def parse(page: str) -> StrictParser:
    parser = StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], f"unclosed: {parser.stack}"
    return parser


def scored_frame(rows):
    """A frame shaped like the scorer's output: (group, text, flags, action, error, evidence dict)."""
    out = []
    for group, text, flags, action, error, evidence in rows:
        out.append({"group": group, "answer": text, "red_flags": ";".join(flags), "flag_count": len(flags),
                    "recommendation": action if not error else "", "error": error,
                    "evidence": json.dumps(evidence) if evidence else ("" if error else "{}")})
    return pd.DataFrame(out)


def test_wilson_interval_is_the_textbook_formula():
    k, n, z = 9, 45, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(centre - half) and high == pytest.approx(centre + half)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0) and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def _random_rows(n, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        flags = [c for c in CATEGORIES if rng.random() < 0.15]
        error = "blank text" if rng.random() < 0.05 else ""
        rows.append((f"g{rng.integers(0, 6)}", f"answer {i}", [] if error else flags,
                     "continue" if not flags else "end_interview", error, None))
    return rows


def test_counts_do_not_depend_on_the_chunking():
    frame = scored_frame(_random_rows(500))
    whole, chunked = SurveyReport("answer", "group"), SurveyReport("answer", "group")
    whole.add(frame)
    for lo in range(0, len(frame), 37):
        chunked.add(frame.iloc[lo:lo + 37])
    assert whole.rows == chunked.rows == 500
    assert whole.errors == chunked.errors
    np.testing.assert_array_equal(whole.cooccur, chunked.cooccur)
    assert set(whole.groups) == set(chunked.groups)
    for name in whole.groups:
        a, b = whole.groups[name], chunked.groups[name]
        assert a.scored == b.scored and a.any_flag == b.any_flag
        np.testing.assert_array_equal(a.flagged, b.flagged)
        np.testing.assert_array_equal(a.actions, b.actions)
    # the group counts add up to the overall counts, and the diagonal of the co-occurrence is the flag count
    assert sum(g.scored for g in whole.groups.values()) == whole.overall.scored
    np.testing.assert_array_equal(sum(g.flagged for g in whole.groups.values()), whole.overall.flagged)
    np.testing.assert_array_equal(whole.cooccur.diagonal(), whole.overall.flagged)


def test_not_scored_rows_count_nowhere_but_in_the_reasons():
    report = SurveyReport("answer")
    report.add(scored_frame([("a", "x", ["scam"], "end_interview", "", None),
                             ("a", "", [], "", "blank text", None),
                             ("a", "y" * 5, [], "", "text over 20000 characters (20001)", None),
                             ("a", "z" * 5, [], "", "text over 20000 characters (25000)", None)]))
    assert report.overall.scored == 1 and report.overall.flagged.sum() == 1
    assert report.errors == {"blank text": 1, "text over 20000 characters": 2}


def test_small_groups_are_pooled_and_a_small_pool_is_suppressed():
    rows = [("big", f"b{i}", ["scam"] if i < 4 else [], "continue", "", None) for i in range(12)]
    rows += [("tiny1", f"t{i}", ["harassment"], "end_interview", "", None) for i in range(6)]
    rows += [("tiny2", f"u{i}", [], "continue", "", None) for i in range(5)]
    report = SurveyReport("answer", "group", min_group=10)
    report.add(scored_frame(rows))
    shown, pool = report.group_table()
    assert [name for name, _ in shown] == ["big", OTHER]
    assert pool == {"groups": 2, "rows": 11, "suppressed": False}
    assert shown[1][1].flagged[CATEGORIES.index("harassment")] == 6
    page = report.render({}, "in.csv", "0" * 64)
    assert "tiny1" not in page and "tiny2" not in page and "2 small groups pooled" in page

    report = SurveyReport("answer", "group", min_group=10)
    report.add(scored_frame(rows[:12] + rows[12:15]))   # the pool has 3 rows: under the minimum
    shown, pool = report.group_table()
    assert [name for name, _ in shown] == ["big"] and pool["suppressed"] and pool["rows"] == 3
    page = report.render({}, "in.csv", None)
    assert "left out of the per-group figures" in page and "tiny1" not in page


def test_everything_from_the_input_is_escaped():
    evil = '<script>alert("x")</script>'
    rows = [(evil, f"{i} {evil} the boss yelled at staff, then more", ["toxic_culture"], "finish_then_withdraw", "",
             {"toxic_culture": [[0, 0]]}) for i in range(12)]
    frame = scored_frame(rows)
    # evidence: the span "the boss yelled at staff" in every row
    frame["evidence"] = [json.dumps({"toxic_culture": [[t.index("the boss"), t.index(", then")]]})
                         for t in frame["answer"]]
    report = SurveyReport("answer", "group", min_group=10)
    report.add(frame)
    page = report.render({"model_version": "<b>v</b>"}, f"{evil}.csv", "ab" * 32)
    parsed = parse(page)
    assert parsed.scripts == 0 and "<script>" not in page and "<b>v</b>" not in page
    assert "&lt;script&gt;" in page
    assert "the boss yelled at staff" in page


def test_evidence_phrases_need_five_rows_and_are_never_long_or_a_whole_answer():
    def row(i, text, span):
        return ("g", text, ["disorganized_process"], "proceed_with_caution", "",
                {"disorganized_process": [[text.index(span), text.index(span) + len(span)]]})

    rows = [row(i, f"The interviewer was LATE again. Note {i}.", "The interviewer was LATE again") for i in range(5)]
    rows += [row(i, f"Nobody read my resume! Case {i}.", "Nobody read my resume") for i in range(4)]
    long_clause = "they moved the interview three times in one week and then forgot to send any of the links"
    rows += [row(i, f"{long_clause}. Item {i}.", long_clause) for i in range(6)]
    rows += [row(i, "Kept waiting for an hour.", "Kept waiting for an hour") for i in range(6)]  # whole answer
    twice = "Late start, late start. Row {}."   # the same clause twice in one row counts once
    rows += [("g", twice.format(i), ["disorganized_process"], "proceed_with_caution", "",
              {"disorganized_process": [[0, 10], [12, 22]]}) for i in range(3)]
    report = SurveyReport("answer")
    report.add(scored_frame(rows))
    top = report.top_phrases()["disorganized_process"]
    assert top == [("the interviewer was late again", 5)]
    page = report.render({}, "in.csv", None)
    assert "nobody read my resume" not in page and long_clause not in page and "kept waiting" not in page


def test_phrase_counts_stay_bounded_and_are_never_overstated(monkeypatch):
    monkeypatch.setattr(report_module, "MAX_PHRASES", 50)
    report = SurveyReport("answer")
    rows = []
    for i in range(400):
        text = "The panel was late, ok." if i % 40 == 0 else f"Unique clause number {i}, ok."
        span = text.split(",")[0]
        rows.append(("g", text, ["disorganized_process"], "proceed_with_caution", "",
                     {"disorganized_process": [[0, len(span)]]}))
    for lo in range(0, 400, 25):
        report.add(scored_frame(rows[lo:lo + 25]))
    counter = report.phrases["disorganized_process"]
    assert len(counter) <= 51 and report.phrases_pruned
    assert 5 <= counter["the panel was late"] <= 10   # a lower bound of the true 10


def test_normalise_phrase():
    assert normalise_phrase("  The Manager   YELLED!!  ") == "the manager yelled"
    assert normalise_phrase("“Accept today”,") == "accept today"


# ---------------------------------------------------------------------------------------------
# through score_file

def _write_survey(path, n=60):
    texts = ["He mocked my degree and rolled his eyes at every answer.", "A friendly panel, clear questions.",
             "They asked me to pay for a training kit and send my bank details by chat.", ""]
    frame = pd.DataFrame({"rid": [f"r{i}" for i in range(n)], "team": [f"t{i % 3}" if i < n - 4 else "solo"
                                                                       for i in range(n)],
                          "answer": [texts[i % 4] for i in range(n)]})
    frame.to_csv(path, index=False)
    return frame


def test_score_writes_a_self_contained_report(tmp_path, tiny_model_path):
    src, out, page_path = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "report.html"
    _write_survey(src)
    score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, chunksize=7, quiet=True,
               report=str(page_path), group_by="team")
    page = page_path.read_text(encoding="utf-8")
    parsed = parse(page)
    assert parsed.external == [] and parsed.scripts == 0 and "<link" not in page
    assert len(parsed.images) == 4
    for src_attr in parsed.images:
        assert src_attr.startswith("data:image/png;base64,")
        assert base64.b64decode(src_attr.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert hashlib.sha256(src.read_bytes()).hexdigest() in page
    assert "solo" not in page                    # 4 rows: pooled, and the pool is under the minimum
    assert ">t0<" in page and "blank text" in page
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert "evidence" not in scored.columns
    assert "score with <code>--evidence</code> as well" in page


def test_report_with_evidence_asked_keeps_the_column(tmp_path, tiny_model_path):
    src, out, page_path = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "report.html"
    _write_survey(src)
    score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, quiet=True,
               report=str(page_path), evidence=True)
    assert "evidence" in pd.read_csv(out, dtype=str, keep_default_na=False).columns
    assert "Evidence was not computed" not in page_path.read_text(encoding="utf-8")


@pytest.mark.parametrize("kwargs, message", [
    ({"group_by": "nope", "report": "REPORT"}, "no group column 'nope'"),
    ({"group_by": "team"}, "--group-by needs --report"),
    ({"report": "OUT"}, "would overwrite the input or the output"),
    ({"report": "REPORT", "min_group": 0}, "--min-group must be at least 1"),
])
def test_report_errors_before_any_work(tmp_path, tiny_model_path, kwargs, message):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_survey(src)
    names = {"REPORT": str(tmp_path / "r.html"), "OUT": str(out)}
    kwargs = {k: names.get(v, v) for k, v in kwargs.items()}
    with pytest.raises(BatchError, match=re.escape(message)):
        score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, quiet=True, **kwargs)
    assert not out.exists() and not (tmp_path / "r.html").exists()


def test_cli_score_with_report(tmp_path, tiny_model_path, capsys):
    from redflags.cli import main

    src, out, page_path = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "report.html"
    _write_survey(src)
    code = main(["score", str(src), "-o", str(out), "--text-column", "answer", "--model", str(tiny_model_path),
                 "--report", str(page_path), "--group-by", "team", "--min-group", "5"])
    assert code == 0 and page_path.is_file()
    assert f"report: {page_path}" in capsys.readouterr().err
    assert "solo" not in page_path.read_text(encoding="utf-8")   # 3 scored rows < 5


@pytest.mark.e2e
def test_dask_engine_gives_the_same_report_figures(tmp_path, tiny_model_path):
    src = tmp_path / "in.csv"
    _write_survey(src, n=200)
    pages = {}
    for engine in ("local", "dask"):
        page_path = tmp_path / f"{engine}.html"
        score_file(str(src), str(tmp_path / f"{engine}.csv"), text_column="answer", model_path=tiny_model_path,
                   chunksize=30, quiet=True, engine=engine, report=str(page_path), group_by="team")
        text = page_path.read_text(encoding="utf-8")
        tables = re.findall(r"<table>.*?</table>", text, flags=re.S)   # the figures, without plots and timings
        pages[engine] = tables
    assert pages["local"] == pages["dask"] and len(pages["local"]) >= 5


def test_report_from_standard_input(tmp_path, tiny_model_path):
    import subprocess
    import sys
    from pathlib import Path

    src = tmp_path / "in.csv"
    _write_survey(src)
    redflags = str(Path(sys.executable).with_name("redflags"))
    page_path = tmp_path / "report.html"
    with open(src, "rb") as fh:
        done = subprocess.run([redflags, "score", "-", "-o", str(tmp_path / "out.csv"), "--text-column", "answer",
                               "--model", str(tiny_model_path), "--report", str(page_path), "--group-by", "team"],
                              stdin=fh, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    page = page_path.read_text(encoding="utf-8")
    assert "not available (read from standard input)" in page and ">t1<" in page
    with open(src, "rb") as fh:
        done = subprocess.run([redflags, "score", "-", "-o", str(tmp_path / "out2.csv"), "--text-column", "answer",
                               "--model", str(tiny_model_path), "--report", str(tmp_path / "r2.html"),
                               "--group-by", "nope"], stdin=fh, capture_output=True, timeout=300)
    assert done.returncode == 2 and b"no group column 'nope'" in done.stderr
    assert not (tmp_path / "out2.csv").exists() and not (tmp_path / "r2.html").exists()

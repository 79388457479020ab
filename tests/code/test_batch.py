"""The batch scorer: every row back in order, bad rows kept and marked, safe output, clear errors."""
import gc
import gzip
import os
import signal
import stat
import subprocess
import sys
import time
import warnings

import pandas as pd
import pytest

from redflags.batch.frame import SCORE_COLUMNS
from redflags.batch.score import BatchError, score_file

ROWS = [
    ("r1", "He mocked my degree and rolled his eyes at every answer.", "3"),
    ("r2", "", "4"),                                   # blank text
    ("r3", "A friendly panel, clear questions.\nThey called back, too.", "5"),  # multi-line cell
    ("r4", "They asked me to pay for a training kit and send my bank details by chat.", ""),
    ("r5", "x" * 20001, "1"),                          # over the limit
    ("r6", "   ", "2"),                                # only spaces
]


def write_input(path, rows=ROWS, sep=","):
    frame = pd.DataFrame(rows, columns=["rid", "answer", "rating"])
    if str(path).endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False, sep=sep)
    return frame


def read_output(path):
    if str(path).endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, sep="\t" if ".tsv" in str(path) else ",")


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv", ".parquet"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_every_row_in_order_with_columns_unchanged(tmp_path, tiny_model_path, suffix, jobs):
    src, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    frame = write_input(src, sep="\t" if suffix == ".tsv" else ",")
    summary = score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, jobs=jobs,
                         chunksize=2, quiet=True)
    got = read_output(out)
    assert list(got.columns) == ["rid", "answer", "rating", *SCORE_COLUMNS]
    assert got["rid"].tolist() == frame["rid"].tolist()
    assert got["answer"].astype(str).tolist() == frame["answer"].tolist()
    errors = got["error"].tolist()
    assert errors[0] == "" and errors[2] == "" and errors[3] == ""
    assert errors[1].startswith("blank text") and errors[5].startswith("blank text") and "over 20,000" in errors[4]
    assert got["red_flags"].tolist()[0] == "disrespect" and got["red_flags"].tolist()[3] == "scam"
    assert summary.rows == 6 and summary.errors == 3


def test_same_scores_as_the_prediction_core(tmp_path, tiny_model_path, tiny_predictor):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src)
    score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, quiet=True)
    got = read_output(out)
    p = tiny_predictor.predict([ROWS[3][1]])[0]
    assert float(got.loc[3, "p_scam"]) == pytest.approx(p.scores["scam"], abs=1e-4)
    assert got.loc[3, "recommendation"] == p.recommendation.action


@pytest.mark.parametrize("jobs", [1, 2])
def test_thresholds_apply_to_every_scored_row(tmp_path, tiny_model_path, jobs):
    """The API's per-category thresholds, in a batch: scam at 0 flags every row that could be scored."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src)
    score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, quiet=True, jobs=jobs,
               thresholds={"scam": 0.0})
    got = read_output(out)
    scored = got["error"] == ""
    assert got.loc[scored, "red_flags"].str.contains("scam").all() and (got.loc[~scored, "red_flags"] == "").all()


def test_evidence_column(tmp_path, tiny_model_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src)
    score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, evidence=True, quiet=True)
    got = read_output(out)
    assert "disrespect" in got.loc[0, "evidence"] and got.loc[1, "evidence"] == ""


@pytest.mark.parametrize("make, kwargs, message", [
    (None, {"text_column": "answer"}, "no such file"),
    ("csv", {"text_column": "comment"}, "no column named 'comment'; the columns are: rid, answer, rating"),
    ("empty", {"text_column": "answer"}, "empty"),
    ("latin1", {"text_column": "answer"}, "line 3 is not valid utf-8; pass --encoding"),
    ("csv", {"text_column": "answer", "id_column": "nope"}, "no id column"),
    ("csv", {"text_column": "answer", "thresholds": {"rudeness": 0.2}}, "unknown category in thresholds"),
    ("csv", {"text_column": "answer", "thresholds": {"scam": 1.5}}, "from 0 to 1"),
])
def test_errors_before_any_work(tmp_path, tiny_model_path, make, kwargs, message):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    if make == "csv":
        write_input(src)
    elif make == "empty":
        src.write_text("")
    elif make == "latin1":
        src.write_bytes("rid,answer\nr1,fine\nr2,caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(BatchError, match=message):
        score_file(str(src), str(out), model_path=tiny_model_path, quiet=True, **kwargs)
    assert not out.exists() and not list(tmp_path.glob(".out.csv.*"))


def test_encoding_option_reads_latin1(tmp_path, tiny_model_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes("rid,answer\nr1,\"caf\xe9 chat, friendly panel\"\n".encode("latin-1"))
    score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, encoding="latin-1", quiet=True)
    assert read_output(out)["answer"].tolist() == ["café chat, friendly panel"]


def test_output_folder_must_exist(tmp_path, tiny_model_path):
    src = tmp_path / "in.csv"
    write_input(src)
    with pytest.raises(BatchError, match="does not exist"):
        score_file(str(src), str(tmp_path / "nope" / "out.csv"), text_column="answer",
                   model_path=tiny_model_path, quiet=True)


def test_failed_run_keeps_the_old_output(tmp_path, tiny_model_path, monkeypatch):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src, rows=ROWS * 3)
    out.write_text("previous good output\n")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    calls = {"n": 0}
    import redflags.batch.score as mod
    real = mod.score_frame

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            boom()
        return real(*args, **kwargs)

    monkeypatch.setattr(mod, "score_frame", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, chunksize=2, quiet=True)
    assert out.read_text() == "previous good output\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_stdin_to_stdout(tmp_path, tiny_model_path):
    csv = 'rid,answer\n1,"He mocked my degree, rolled his eyes."\n2,\n'
    done = subprocess.run([sys.executable, "-m", "redflags.cli", "score", "-", "-o", "-", "--text-column", "answer",
                           "--model", str(tiny_model_path), "--quiet"], input=csv, capture_output=True, text=True,
                          check=True)
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("rid,answer,red_flags,flag_count,p_disrespect")
    assert len(lines) == 3 and ",blank text" in lines[2]


def test_cli_error_exit_code_and_message(tmp_path, tiny_model_path):
    done = subprocess.run([sys.executable, "-m", "redflags.cli", "score", str(tmp_path / "none.csv"), "-o",
                           str(tmp_path / "o.csv"), "--text-column", "a", "--model", str(tiny_model_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "no such file" in done.stderr


def test_killed_run_leaves_no_partial_output(tmp_path, tiny_model_path):
    """SIGTERM mid-run: no OUTPUT, no temp file, and an existing OUTPUT is untouched."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src, rows=[(f"r{i}", f"He mocked my degree, answer {i}. " * 20, "1") for i in range(30000)])
    out.write_text("old\n")
    proc = subprocess.Popen([sys.executable, "-m", "redflags.cli", "score", str(src), "-o", str(out),
                             "--text-column", "answer", "--model", str(tiny_model_path), "--chunksize", "500",
                             "--quiet"], stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".out.csv.*")):
        time.sleep(0.05)
    assert list(tmp_path.glob(".out.csv.*")), "the run never started writing"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)  # reads and closes the stderr pipe
    assert proc.returncode != 0
    assert out.read_text() == "old\n"
    assert not list(tmp_path.glob(".out.csv.*"))


def test_ctrl_c_on_a_parallel_run_says_one_line_and_no_worker_traceback(tmp_path, tiny_model_path):
    """SIGINT to the whole process group (what Ctrl-C in a terminal does) during `--jobs 2`: the workers
    ignore it, the parent shuts the pool down and exits 130 with one short line, leaving nothing behind."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src, rows=[(f"r{i}", f"He mocked my degree, answer {i}. " * 20, "1") for i in range(30000)])
    out.write_text("old\n")
    proc = subprocess.Popen([sys.executable, "-m", "redflags.cli", "score", str(src), "-o", str(out),
                             "--text-column", "answer", "--model", str(tiny_model_path), "--chunksize", "500",
                             "--jobs", "2", "--quiet"], stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list(tmp_path.glob(".out.csv.*")):
            time.sleep(0.05)
        assert list(tmp_path.glob(".out.csv.*")), "the run never started writing"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip() == "redflags score: interrupted"
    assert proc.returncode == 130
    assert out.read_text() == "old\n"
    assert not list(tmp_path.glob(".out.csv.*"))
    deadline = time.time() + 10  # no worker outlives the run
    while time.time() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("worker processes were left running")


def test_an_interrupt_a_library_swallows_still_stops_the_run(tmp_path, tiny_model_path, monkeypatch):
    """numpy drops a KeyboardInterrupt raised inside its ctypes check (pandas reaches it comparing dtypes), so
    Ctrl-C could be lost mid-chunk and the run go on to the end. The stop is remembered and honoured at the
    next chunk: no output is committed."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src, rows=ROWS * 5)
    out.write_text("old\n")
    import redflags.batch.score as mod
    real, calls = mod.score_frame, {"n": 0, "swallowed": 0}

    def interrupted_inside_a_library(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            try:  # what numpy does with an exception raised in its callback
                signal.raise_signal(signal.SIGINT)
                for _ in range(3):
                    time.sleep(0)
            except KeyboardInterrupt:
                calls["swallowed"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(mod, "score_frame", interrupted_inside_a_library)
    with pytest.raises(KeyboardInterrupt):
        score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, chunksize=2, quiet=True)
    assert calls["swallowed"] == 1 and calls["n"] == 2
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def _record_input_files(monkeypatch) -> list:
    """Every file the chunk readers open (CSV through pandas, Parquet through pyarrow), to check later."""
    import pyarrow.parquet as pq

    opened = []
    read_csv = pd.read_csv

    def recording_read_csv(*args, **kwargs):
        reader = read_csv(*args, **kwargs)
        if kwargs.get("chunksize"):
            opened.extend(reader.handles.created_handles)
        return reader

    class RecordingParquetFile(pq.ParquetFile):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(pd, "read_csv", recording_read_csv)
    monkeypatch.setattr(pq, "ParquetFile", RecordingParquetFile)
    return opened


def _resource_warnings(run) -> list[str]:
    """ResourceWarnings (an open file dropped without close) raised by `run` or by collecting its garbage."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_that_stops_early_closes_the_input(tmp_path, tiny_model_path, monkeypatch, suffix, jobs):
    """An error mid-file stops scoring: the input is closed by the time the error reaches the caller (while
    its traceback, which holds the readers' frames, is still alive), not left to the garbage collector."""
    src, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    write_input(src, rows=ROWS * 5)
    import redflags.batch.score as mod
    real, calls = mod.score_frame, {"n": 0}

    def fails_on_the_second_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("scoring failed mid-file")
        return real(*args, **kwargs)

    monkeypatch.setattr(mod, "score_frame", fails_on_the_second_chunk)
    opened = _record_input_files(monkeypatch)
    held = []

    def run():
        with pytest.raises(RuntimeError, match="scoring failed mid-file") as info:
            score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, chunksize=2,
                       jobs=jobs, quiet=True)
        held.append(info)  # keep the error and its traceback alive, as a caller reporting it would
        assert opened, "the input was never opened"
        assert [f for f in opened if not f.closed] == [], "the input is still open after the run stopped"

    assert _resource_warnings(run) == []
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_closing_the_chunk_reader_early_closes_the_file(tmp_path, monkeypatch, suffix):
    from redflags.batch.score import input_kind, iter_chunks

    src = tmp_path / f"in{suffix}"
    write_input(src, rows=ROWS * 5)
    opened = _record_input_files(monkeypatch)

    def run():
        chunks = iter_chunks(str(src), input_kind(src.name), 2, "utf-8")
        assert len(next(chunks)) == 2
        chunks.close()
        assert opened and [f for f in opened if not f.closed] == []

    assert _resource_warnings(run) == []


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_output_gets_the_mode_of_a_plainly_created_file(tmp_path, tiny_model_path, suffix, mask, mode):
    """The temp file is made by mkstemp (0600); the committed OUTPUT must follow the umask like any file."""
    src, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    write_input(src)
    old = os.umask(mask)
    try:
        score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, quiet=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == mode


def test_id_column_names_the_rows_not_scored(tmp_path, tiny_model_path, capsys):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src)
    summary = score_file(str(src), str(out), text_column="answer", id_column="rid", model_path=tiny_model_path)
    assert summary.error_ids == ["r2", "r5", "r6"]
    assert "not scored (rid): r2, r5, r6" in capsys.readouterr().err


def test_multiline_detection_across_read_blocks(tmp_path):
    from redflags.batch.score import precheck_text

    plain = tmp_path / "plain.csv"
    # a quoted comma-containing field on one line, placed so a 1 MiB block boundary cuts through it
    line = 'r,"a, b ""quoted"" c"\n'
    plain.write_text("id,answer\n" + line * ((1 << 20) // len(line) + 50))
    assert precheck_text(str(plain), "utf-8") is False
    multi = tmp_path / "multi.csv"
    multi.write_text('id,answer\n1,"line one\nline two"\n')
    assert precheck_text(str(multi), "utf-8") is True


@pytest.mark.parametrize("keep", [False, True])
def test_spreadsheet_formulas_are_escaped_unless_kept(tmp_path, tiny_model_path, keep):
    risky = ['=HYPERLINK("http://x.example","click")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd"]
    src = tmp_path / "in.csv"
    pd.DataFrame({"answer": ["He mocked my degree."] * len(risky), "note": risky}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, quiet=True, keep_formulas=keep)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)["note"].tolist()
    assert got == (risky if keep else ["'" + r for r in risky])



def test_probabilities_are_written_in_one_format_and_input_numbers_are_left_alone(tmp_path, tiny_model_path,
                                                                                 tiny_predictor):
    """Every CSV we write gives probabilities as %.4f text (blank where a row was not scored); a number of
    the input's own (here from Parquet) is not reformatted."""
    src, out = tmp_path / "in.parquet", tmp_path / "out.csv"
    frame = write_input(src)
    frame["weight"] = 0.123456789
    frame.to_parquet(src)
    score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, quiet=True)
    got = read_output(out)
    scored = got["error"] == ""
    for c in [c for c in got.columns if c.startswith("p_")]:
        assert got.loc[scored, c].str.fullmatch(r"[01]\.\d{4}").all() and (got.loc[~scored, c] == "").all()
    want = tiny_predictor.predict([ROWS[0][1]])[0].scores["scam"]
    assert got.loc[0, "p_scam"] == "%.4f" % round(want, 4)
    assert (got["weight"] == "0.123456789").all()


TRICKY_CELLS = ["plain", "a, comma", 'a "quote"', "line\nbreak", "tab\there", "cr\rinside", "", "   ", "café 🙂",
                "=1+1", "+1", "-2", "@SUM(A1)", "\tcmd", "\rcr", "'", '"', ",", "\n", "x\u2028y", "semi;colon"]


@pytest.mark.parametrize("sep", [",", "\t"])
@pytest.mark.parametrize("escape", [True, False])
@pytest.mark.parametrize("header", [True, False])
def test_csv_bytes_are_what_pandas_writes(tiny_predictor, sep, escape, header):
    """The Arrow formatter writes exactly what escape_formulas + probabilities_as_text + to_csv wrote: the same
    quoting (a cell with the separator, a quote or a line feed, nothing else), escapes, blanks and numbers."""
    from redflags.batch.frame import csv_bytes, escape_formulas, probabilities_as_text, score_frame

    n = len(TRICKY_CELLS)
    frame = pd.DataFrame({"answer": [ROWS[i % len(ROWS)][1] for i in range(n)], "note, \"x\"": TRICKY_CELLS,
                          "other": pd.array(TRICKY_CELLS[::-1], dtype="str")})
    frame.loc[3, "other"] = None   # missing cells are written blank
    scored = score_frame(tiny_predictor, frame, "answer", thresholds={"scam": 0.01})
    want = probabilities_as_text(escape_formulas(scored) if escape else scored).to_csv(sep=sep, index=False,
                                                                                       header=header)
    assert csv_bytes(scored, sep, header=header, escape=escape).decode("utf-8") == want
    assert csv_bytes(scored.iloc[:0], sep, header=header, escape=escape).decode("utf-8") == \
        probabilities_as_text(scored.iloc[:0]).to_csv(sep=sep, index=False, header=header)


def test_csv_bytes_leaves_columns_that_are_not_text_to_pandas(tiny_predictor):
    from redflags.batch.frame import csv_bytes, escape_formulas, probabilities_as_text, score_frame

    frame = pd.DataFrame({"answer": [r[1] for r in ROWS], "weight": [0.123456789, 1e-20, 3.0, None, 2.5, -1.0],
                          "n": range(6), "mixed": ["a", 1, None, "=x", 2.5, True]})
    scored = score_frame(tiny_predictor, frame, "answer")
    assert csv_bytes(scored).decode() == probabilities_as_text(escape_formulas(scored)).to_csv(index=False,
                                                                                               header=False)


@pytest.mark.parametrize("thresholds", [None, {"scam": 0.0, "disrespect": 0.0, "toxic_culture": 0.05},
                                        {"harassment": 1.0}])
def test_batch_scores_equal_the_prediction_core(tiny_predictor, thresholds):
    """The whole-chunk path gives each row what Predictor.predict gives it: the same probabilities, the same
    flags in the same order (most serious first, then most probable), the same count and action."""
    from redflags.batch.frame import batch_scores
    from tests.tiny import TINY

    texts = [t for t, _, _ in TINY] + [r[1] for r in ROWS if r[1].strip() and len(r[1]) < 20000]
    texts += [" ".join(t for t, _, _ in TINY[i:i + 5]) for i in range(0, len(TINY), 3)]   # long: sentence scoring
    probs, flags, counts, actions = batch_scores(tiny_predictor, texts, thresholds)
    want = tiny_predictor.predict(texts, evidence=False, thresholds=thresholds, advice=False)
    from redflags.model.taxonomy import CATEGORIES
    assert probs.tolist() == [[p.scores[c] for c in CATEGORIES] for p in want]
    assert flags == [";".join(f.category for f in p.red_flags) for p in want]
    assert counts.tolist() == [len(p.red_flags) for p in want]
    assert actions == [p.recommendation.action for p in want]
    assert any(f.count(";") >= 1 for f in flags)   # the ordering of several flags was exercised


@pytest.mark.parametrize("jobs", [1, 2])
def test_summary_counts_every_flag_and_action(tmp_path, tiny_model_path, jobs):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_input(src, rows=ROWS * 7)
    summary = score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, jobs=jobs,
                         chunksize=4, quiet=True, id_column="rid", thresholds={"scam": 0.2})
    got = read_output(out)
    flagged = got["red_flags"].str.split(";").explode()
    assert dict(summary.flagged) == flagged[flagged != ""].value_counts().to_dict()
    assert dict(summary.actions) == got.loc[got["recommendation"] != "", "recommendation"].value_counts().to_dict()
    assert summary.rows == 42 and summary.errors == 21 and summary.error_ids == ["r2", "r5", "r6"] * 3 + ["r2"]

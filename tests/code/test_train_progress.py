"""Training progress: numbered steps, time left from the measured step weights, a bar over the
cross-validation fits; nothing at all when standard error is not a terminal or the user asked for quiet."""
from __future__ import annotations

import io

import numpy as np

from redflags.config import GridConfig, TrainConfig
from redflags.training.data import label_matrix
from redflags.training.progress import TrainingProgress
from redflags.training.train import cross_validate, folds
from tests.tiny import TINY


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_steps_are_numbered_and_the_time_left_follows_the_weights():
    clock, out = FakeClock(), io.StringIO()
    progress = TrainingProgress(enabled=True, stream=out, steps={"a": 1, "b": 3, "c": 1}, clock=clock)
    progress.step("a")
    clock.now += 10            # "a" (1 of 5) took 10 s, so the other 4 should take 40 s
    progress.step("b")
    clock.now += 30            # "a" and "b" (4 of 5) took 40 s: 10 s left
    progress.step("c")
    clock.now += 10
    progress.finish()
    assert out.getvalue().splitlines() == [
        "[1/3] a (elapsed 0:00)",
        "[2/3] b (elapsed 0:10, about 0:40 left)",
        "[3/3] c (elapsed 0:40, about 0:10 left)",
        "done in 0:50",
    ]


def test_a_skipped_step_leaves_the_count_and_the_estimate():
    clock, out = FakeClock(), io.StringIO()
    progress = TrainingProgress(enabled=True, stream=out, steps={"a": 1, "dev": 100, "b": 1}, clock=clock)
    progress.skip("dev")
    progress.step("a")
    clock.now += 5
    progress.step("b")
    assert out.getvalue().splitlines()[-1] == "[2/2] b (elapsed 0:05, about 0:05 left)"


def test_silent_when_not_a_terminal_or_quiet():
    pipe = io.StringIO()
    for progress in (TrainingProgress(stream=pipe), TrainingProgress(enabled=False, stream=Terminal())):
        progress.step("load")
        with progress.bar(4, "folds x candidates", " fits") as bar:
            bar.update(4)
        progress.finish()
        assert progress.stream.getvalue() == ""
    assert TrainingProgress.for_terminal(quiet=True).enabled is False


def test_on_by_itself_on_a_terminal():
    terminal = Terminal()
    progress = TrainingProgress(stream=terminal)
    progress.step("load")
    assert progress.enabled and terminal.getvalue().startswith("[1/")


def test_the_cross_validation_bar_counts_folds_times_candidates():
    rows = TINY * 4
    texts = [t for t, _, _ in rows]
    Y = label_matrix([labels for _, labels, _ in rows])
    rec = np.array([r for _, _, r in rows])
    config = TrainConfig(cv_folds=2, grid=GridConfig(min_df=(1,), C=(1.0, 4.0, 16.0)))
    out = Terminal()
    cross_validate(texts, Y, folds(Y, rec, config.cv_folds, config.seed), config, n_jobs=1,
                   progress=TrainingProgress(enabled=True, stream=out))
    shown = out.getvalue()
    assert "folds x candidates" in shown
    assert "6/6" in shown            # 2 folds x 3 values of C, each counted once
    assert "7/6" not in shown

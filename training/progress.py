"""What `redflags train` tells a person while it works: each step, a bar over the cross-validation
fits, and an estimate of the time left. A first `make serve` trains for minutes; silence looks like a hang.

Everything goes to standard error and only when it is a terminal (and not `--quiet`), so logs, pipes
and tests stay clean. The estimate weighs the steps by the share of a run each took when measured
(`STEP_WEIGHTS`); the bar's own estimate comes from tqdm.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import IO, Callable, Iterator

# Seconds each step of `redflags train` took in one measured run (default config, full corpus with the
# real-account dev set, 2 shared cores, 5:51 in all); only their proportions matter. Only the estimate of
# time left reads them: a wrong weight makes the estimate wrong, never the model.
STEP_WEIGHTS = {
    "load": 1,
    "encode with the sentence encoder": 300,   # the encoder mode only, on a first run (a cache keeps the rest)
    "cross-validate": 22,
    "score sentences out of fold": 4,
    "choose combination and thresholds": 39,
    "choose advice policy": 53,
    "fit final model": 22,
    "evaluate held-out split": 100,   # includes fitting the ten-line and text-recommender baselines
    "evaluate real-account dev set": 107,
    "save model and reports": 3,
}


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class TrainingProgress:
    """Prints `[k/n] step` lines with elapsed time and time left, and hands out tqdm bars."""

    def __init__(self, enabled: bool | None = None, stream: IO[str] | None = None,
                 steps: dict[str, float] | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.weights = dict(steps or STEP_WEIGHTS)
        self.clock = clock
        self.started = clock()
        self.done_weight = 0.0
        self.current: str | None = None

    @classmethod
    def for_terminal(cls, quiet: bool = False) -> "TrainingProgress":
        """On when standard error is a terminal and the user did not ask for quiet."""
        return cls(enabled=False if quiet else None)

    def _print(self, line: str) -> None:
        if self.enabled:
            print(line, file=self.stream, flush=True)

    def estimate_left(self) -> float | None:
        """Seconds left, from the time so far and the weight of the steps already done; None at the start."""
        total = sum(self.weights.values())
        if self.done_weight <= 0 or total <= 0:
            return None
        elapsed = self.clock() - self.started
        return elapsed * (total - self.done_weight) / self.done_weight

    def step(self, name: str) -> None:
        """Mark the previous step done and announce `name`."""
        if self.current is not None:
            self.done_weight += self.weights.get(self.current, 0.0)
        self.current = name
        names = list(self.weights)
        number = f"[{names.index(name) + 1}/{len(names)}] " if name in names else ""
        left = self.estimate_left()
        timing = f"elapsed {_clock(self.clock() - self.started)}"
        if left is not None:
            timing += f", about {_clock(left)} left"
        self._print(f"{number}{name} ({timing})")

    def skip(self, name: str) -> None:
        """A step that does not run this time (no dev set): its weight no longer counts toward the estimate."""
        self.weights.pop(name, None)

    def finish(self) -> None:
        if self.current is not None:
            self.done_weight += self.weights.get(self.current, 0.0)
            self.current = None
        self._print(f"done in {_clock(self.clock() - self.started)}")

    @contextmanager
    def bar(self, total: int, desc: str, unit: str) -> Iterator:
        """A tqdm bar (its own estimate of time left), or a stand-in that ignores updates when quiet."""
        if not self.enabled:
            yield _NoBar()
            return
        from tqdm import tqdm

        with tqdm(total=total, desc=desc, unit=unit, file=self.stream, dynamic_ncols=True) as bar:
            yield bar


class _NoBar:
    def update(self, n: int = 1) -> None:  # noqa: ARG002
        pass


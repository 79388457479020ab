"""`redflags score --report report.html`: a survey report built while the file is scored.

`SurveyReport.add` is called with every scored chunk (local or Dask engine alike) and keeps counts
only, never rows, so memory stays flat however long the file is. `render` turns the counts into ONE
self-contained HTML file: plots as base64 PNG, no script, no external style sheet, opens offline.

Privacy: groups with fewer scored rows than `min_group` are pooled as "other" (and the pool itself is
left out when still too small); evidence phrases are short clauses (at most PHRASE_MAX_WORDS words,
never a whole answer) seen at least PHRASE_MIN_COUNT times. Everything that came from the input (group
names, column names, phrases) is HTML-escaped.

Phrases need evidence spans, so they appear when the file is scored with `--evidence`: spans cost
scoring time (bench/report_overhead.py), the counts do not.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from redflags.model.taxonomy import BY_ID, CATEGORIES, RECOMMENDATION_MEANING, RECOMMENDATIONS

MIN_GROUP = 10              # default --min-group
PHRASE_MIN_COUNT = 5        # an evidence phrase is shown only when this many rows share it
PHRASE_MAX_WORDS = 12       # a phrase, never an anecdote
PHRASES_SHOWN = 10          # per category
MAX_PHRASES = 20_000        # distinct phrases kept per category before the rarest are dropped (memory bound)
MAX_GROUPS = 2_000          # distinct group values counted one by one; later new values go to "other"
_Z95 = 1.959963984540054


class ReportError(ValueError):
    """The report cannot be made as asked (for example, the group column is missing)."""


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (scipy's binomtest); (nan, nan) with no trials."""
    if trials <= 0:
        return math.nan, math.nan
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


_PUNCT_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_SPACES = re.compile(r"\s+")


def normalise_phrase(text: str) -> str:
    """Lower case, one space between words, no punctuation at either end: how phrases are counted."""
    return _PUNCT_EDGES.sub("", _SPACES.sub(" ", text.lower()).strip())


def normalise_error(error: str) -> str:
    """Error values without their per-row figures ("text over 20000 characters (23456)" -> one reason)."""
    return re.sub(r"\s*\(\d+\)$", "", error)


@dataclass
class _Counts:
    """What is counted for one group (or for the whole file)."""

    scored: int = 0
    flagged: np.ndarray = field(default_factory=lambda: np.zeros(len(CATEGORIES), dtype=np.int64))
    actions: np.ndarray = field(default_factory=lambda: np.zeros(len(RECOMMENDATIONS), dtype=np.int64))
    any_flag: int = 0

    def merge(self, other: "_Counts") -> None:
        self.scored += other.scored
        self.flagged += other.flagged
        self.actions += other.actions
        self.any_flag += other.any_flag


class SurveyReport:
    """Streaming accumulator for the survey report: `add(scored_chunk)` per chunk, then `render(...)`."""

    def __init__(self, text_column: str, group_by: str | None = None, min_group: int = MIN_GROUP) -> None:
        if min_group < 1:
            raise ReportError("--min-group must be at least 1")
        self.text_column, self.group_by, self.min_group = text_column, group_by, min_group
        self.rows = 0
        self.overall = _Counts()
        self.errors: Counter = Counter()
        self.cooccur = np.zeros((len(CATEGORIES), len(CATEGORIES)), dtype=np.int64)
        self.groups: dict[str, _Counts] = {}
        self.overflow = _Counts()          # rows of group values beyond MAX_GROUPS
        self.overflow_values = 0           # chunk-by-chunk count of such values (only tells whether any came)
        self.phrases: dict[str, Counter] = {c: Counter() for c in CATEGORIES}
        self.phrases_pruned = False
        self.evidence_seen = False

    # -- counting ------------------------------------------------------------------------------
    def add(self, scored: pd.DataFrame) -> None:
        """Count one scored chunk (the scorer's output columns, input columns included)."""
        if self.group_by is not None and self.group_by not in scored.columns:
            raise ReportError(f"no group column {self.group_by!r}; the columns are: "
                              f"{', '.join(map(str, scored.columns))}")
        n = len(scored)
        self.rows += n
        errors = scored["error"].astype(str)
        ok = (errors == "").to_numpy()
        self.errors.update(normalise_error(e) for e in errors[~ok])
        flags = self._flag_matrix(scored["red_flags"])
        flags[~ok] = 0
        action_index = {a: i for i, a in enumerate(RECOMMENDATIONS)}
        actions = scored["recommendation"].map(action_index).fillna(-1).to_numpy(dtype=np.int64)
        self.overall.merge(_counts(ok, flags, actions))
        self.cooccur += flags.T.astype(np.int64) @ flags.astype(np.int64)
        if self.group_by is not None:
            self._add_groups(scored[self.group_by], ok, flags, actions)
        if "evidence" in scored.columns:
            self.evidence_seen = True
            self._add_phrases(scored[self.text_column], scored["evidence"], ok)

    @staticmethod
    def _flag_matrix(cells: pd.Series) -> np.ndarray:
        """Rows x categories, 1 where the `red_flags` cell (';'-joined ids) names the category."""
        if not len(cells):
            return np.zeros((0, len(CATEGORIES)), dtype=np.int8)
        padded = ";" + cells.astype(str) + ";"
        return np.column_stack([padded.str.contains(f";{c};", regex=False).to_numpy() for c in CATEGORIES]).astype(np.int8)

    def _add_groups(self, values: pd.Series, ok: np.ndarray, flags: np.ndarray, actions: np.ndarray) -> None:
        keys = values.astype(str).str.strip().replace("", "(blank)").to_numpy()
        onehot = (actions[:, None] == np.arange(len(RECOMMENDATIONS))[None, :]) & ok[:, None]
        table = np.column_stack([ok, flags.any(axis=1), flags, onehot]).astype(np.int64)
        sums = pd.DataFrame(table).groupby(keys, sort=False).sum()
        width = len(CATEGORIES)
        for key, row in zip(sums.index.tolist(), sums.to_numpy()):
            counts = _Counts(scored=int(row[0]), any_flag=int(row[1]), flagged=row[2:2 + width].copy(),
                             actions=row[2 + width:].copy())
            target = self.groups.get(key)
            if target is None:
                if len(self.groups) >= MAX_GROUPS:
                    self.overflow_values += 1
                    target = self.overflow
                else:
                    target = self.groups[key] = _Counts()
            target.merge(counts)

    def _add_phrases(self, texts: pd.Series, evidence: pd.Series, ok: np.ndarray) -> None:
        for text, proof, good in zip(texts.tolist(), evidence.tolist(), ok.tolist()):
            if not good or not proof or proof == "{}":
                continue
            text = str(text)
            whole = normalise_phrase(text)
            for category, spans in json.loads(proof).items():
                counter = self.phrases.get(category)
                if counter is None:
                    continue
                phrases = {normalise_phrase(text[start:end]) for start, end in spans}  # a row counts once
                counter.update(p for p in phrases
                               if p and p != whole and len(p.split()) <= PHRASE_MAX_WORDS)
                if len(counter) > MAX_PHRASES:
                    self._prune(counter)

    def _prune(self, counter: Counter) -> None:
        """Keep the more frequent half. Counts can then only be too low, never too high, so a phrase is
        never shown on fewer than PHRASE_MIN_COUNT rows."""
        keep = counter.most_common(MAX_PHRASES // 2)
        counter.clear()
        counter.update(dict(keep))
        self.phrases_pruned = True

    # -- figures -------------------------------------------------------------------------------
    def group_table(self) -> tuple[list[tuple[str, _Counts]], dict[str, Any]]:
        """Groups shown (name, counts), the pooled "other" last, and what was pooled or left out."""
        shown, pooled, pooled_groups = [], _Counts(), 0
        for name in sorted(self.groups, key=_natural_key):
            counts = self.groups[name]
            if counts.scored >= self.min_group:
                shown.append((name, counts))
            else:
                pooled.merge(counts)
                pooled_groups += 1
        if self.overflow_values:
            pooled.merge(self.overflow)
        pool = {"groups": pooled_groups, "rows": pooled.scored, "suppressed": False}
        if pooled_groups or self.overflow_values:
            if pooled.scored >= self.min_group:
                shown.append((OTHER, pooled))
            else:
                pool["suppressed"] = True
        return shown, pool

    def top_phrases(self) -> dict[str, list[tuple[str, int]]]:
        return {c: [(p, k) for p, k in self.phrases[c].most_common(PHRASES_SHOWN) if k >= PHRASE_MIN_COUNT]
                for c in CATEGORIES}

    # -- output --------------------------------------------------------------------------------
    def render(self, model_meta: dict[str, Any], input_name: str, input_sha256: str | None,
               seconds: float | None = None) -> str:
        """The whole report as one HTML document."""
        return _render(self, model_meta, input_name, input_sha256, seconds)


OTHER = "\x00other"   # the pooled group's key: no input value can collide with it (NUL never survives CSV text)


def _counts(ok: np.ndarray, flags: np.ndarray, actions: np.ndarray) -> _Counts:
    valid = actions[ok]
    return _Counts(scored=int(ok.sum()), flagged=flags[ok].sum(axis=0).astype(np.int64),
                   actions=np.bincount(valid[valid >= 0], minlength=len(RECOMMENDATIONS)).astype(np.int64),
                   any_flag=int(flags[ok].any(axis=1).sum()))


def _natural_key(name: str):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


# ---------------------------------------------------------------------------------------------
# HTML

def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _group_label(name: str, pool: dict[str, Any] | None = None) -> str:
    if name == OTHER:
        return f"other ({pool['groups']} small groups pooled)" if pool else "other (pooled)"
    return name


def _pct(k: int, n: int) -> str:
    return "–" if n == 0 else f"{k / n:.1%}"


def _share_cell(k: int, n: int) -> str:
    if n == 0:
        return "–"
    low, high = wilson_interval(k, n)
    return f"{k / n:.1%} <small>({low:.1%}–{high:.1%})</small>"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:70rem;
padding:0 1rem;color:#1d232a;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;
text-align:right;vertical-align:top}th:first-child,td:first-child{text-align:left}thead th{background:#f3f5f7}
small{color:#57606a}.note{color:#57606a;font-size:.9rem}.pooled{font-style:italic}img{max-width:100%;height:auto}
code{background:#f3f5f7;padding:0 .2rem}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}dd{margin:0;word-break:break-all}
"""


def _render(report: SurveyReport, meta: dict[str, Any], input_name: str, input_sha256: str | None,
            seconds: float | None) -> str:
    scored = report.overall.scored
    not_scored = report.rows - scored
    shown, pool = report.group_table() if report.group_by else ([], None)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Red-flag survey report: {_esc(input_name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Red-flag survey report</h1><p>{_esc(input_name)}: {report.rows:,} rows, {scored:,} scored, "
        f"{not_scored:,} not scored.</p>",
    ]
    parts += _section_source(meta, input_name, input_sha256, seconds)
    parts += _section_rows(report)
    parts += _section_shares(report, meta)
    if report.group_by:
        parts += _section_groups(report, shown, pool)
    parts += _section_actions(report, shown, pool)
    parts += _section_cooccurrence(report)
    parts += _section_phrases(report)
    parts.append(f'<p class="note">Made by <code>redflags score --report</code> on '
                 f'{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Shares are of scored rows; intervals are '
                 f'95% Wilson score intervals. A flag is the model\'s reading of one account, not a finding '
                 f'about an employer.</p></body></html>')
    return "\n".join(parts)


def _section_source(meta: dict[str, Any], input_name: str, input_sha256: str | None,
                    seconds: float | None) -> list[str]:
    metrics = meta.get("metrics") or {}
    held = (f"macro F1 {metrics['macro_f1']:.3f}, advice accuracy {metrics['recommendation_accuracy']:.3f} "
            f"on {metrics.get('n_test', '?')} held-out written accounts") if "macro_f1" in metrics else "not recorded"
    dev = metrics.get("real_dev")
    real = (f"macro F1 {dev['macro_f1']:.3f}, advice accuracy {dev['recommendation_accuracy']:.3f} on "
            f"{dev['rows']} real accounts") if dev else "not measured for this model"
    rows = [("Input file", _esc(input_name)),
            ("Input SHA-256", f"<code>{_esc(input_sha256)}</code>" if input_sha256
             else "not available (read from standard input)"),
            ("Model version", f"<code>{_esc(meta.get('model_version', 'unknown'))}</code>"),
            ("Model SHA-256", f"<code>{_esc(meta.get('artifact_sha256', 'unknown'))}</code>"),
            ("Held-out figures", _esc(held)), ("Real-account figures", _esc(real))]
    extra = meta.get("extra_data")
    if extra:
        rows.append(("Trained with extra labels", _esc(f"{extra.get('rows', '?')} rows, SHA-256 {extra.get('sha256')}")))
    if seconds is not None:
        rows.append(("Scoring time", f"{seconds:.1f} s"))
    per = metrics.get("per_category_f1") or {}
    out = ["<h2>Source and model</h2><dl>"] + [f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows] + ["</dl>"]
    if per:
        out.append('<p class="note">Held-out F1 per category (how far to trust each share): '
                   + ", ".join(f"{_esc(c)} {per[c]:.2f}" for c in CATEGORIES if c in per)
                   + ". Real accounts score lower than written ones; read shares as the model's reading, "
                     "with its error, not as exact prevalences.</p>")
    return out


def _section_rows(report: SurveyReport) -> list[str]:
    out = ["<h2>Rows scored and not scored</h2>", "<table><thead><tr><th>rows</th><th>count</th></tr></thead><tbody>",
           f"<tr><td>scored</td><td>{report.overall.scored:,}</td></tr>"]
    for reason, k in report.errors.most_common():
        out.append(f"<tr><td>not scored: {_esc(reason)}</td><td>{k:,}</td></tr>")
    out.append(f"<tr><th>total</th><th>{report.rows:,}</th></tr></tbody></table>")
    return out


def _section_shares(report: SurveyReport, meta: dict[str, Any]) -> list[str]:
    o = report.overall
    out = ["<h2>Share flagged per category</h2>", _img(_plot_shares(o), "Share of scored rows flagged per category, "
                                                                       "with 95% Wilson intervals"),
           "<table><thead><tr><th>category</th><th>flagged</th><th>share (95% CI)</th><th>severity</th></tr></thead><tbody>"]
    for k, c in enumerate(CATEGORIES):
        out.append(f"<tr><td>{_esc(BY_ID[c].title)}</td><td>{o.flagged[k]:,}</td><td>{_share_cell(o.flagged[k], o.scored)}"
                   f"</td><td>{BY_ID[c].severity}</td></tr>")
    out.append(f"<tr><th>any red flag</th><th>{o.any_flag:,}</th><th>{_share_cell(o.any_flag, o.scored)}</th><th></th>"
               "</tr></tbody></table>")
    return out


def _section_groups(report: SurveyReport, shown, pool) -> list[str]:
    column = _esc(report.group_by)
    out = [f"<h2>Share flagged per group of <code>{column}</code></h2>",
           f'<p class="note">Groups with fewer than {report.min_group} scored rows are pooled as "other", so no '
           f"individual answer can be read off the report.</p>"]
    if pool["groups"]:
        if pool["suppressed"]:
            out.append(f'<p class="note">{pool["groups"]} group(s) had fewer than {report.min_group} scored rows; '
                       f'pooled they still have only {pool["rows"]} rows, under the minimum, so they are left out '
                       f"of the per-group figures (they are in the overall figures).</p>")
        else:
            out.append(f'<p class="note">{pool["groups"]} small group(s) pooled as "other" ({pool["rows"]} rows).</p>')
    if report.overflow_values:
        out.append(f'<p class="note">The column has more than {MAX_GROUPS:,} distinct values: rows whose value '
                   f"first appeared after the first {MAX_GROUPS:,} ({report.overflow.scored:,} scored rows) were "
                   f'pooled as "other" too.</p>')
    if not shown:
        out.append("<p>No group is large enough to show.</p>")
        return out
    out.append(_img(_plot_groups(shown, pool), f"Share flagged per category and group of {report.group_by}"))
    head = "".join(f"<th>{_esc(BY_ID[c].title)}</th>" for c in CATEGORIES)
    out.append(f"<table><thead><tr><th>{column}</th><th>scored</th>{head}<th>any flag</th></tr></thead><tbody>")
    for name, counts in shown:
        cls = ' class="pooled"' if name == OTHER else ""
        cells = "".join(f"<td>{_share_cell(counts.flagged[k], counts.scored)}</td>" for k in range(len(CATEGORIES)))
        out.append(f"<tr{cls}><td>{_esc(_group_label(name, pool))}</td><td>{counts.scored:,}</td>{cells}"
                   f"<td>{_share_cell(counts.any_flag, counts.scored)}</td></tr>")
    out.append("</tbody></table>")
    return out


def _section_actions(report: SurveyReport, shown, pool) -> list[str]:
    o = report.overall
    out = ["<h2>Recommendations</h2>", _img(_plot_actions(o), "Recommendations over scored rows"),
           "<table><thead><tr><th>recommendation</th><th>rows</th><th>share</th><th>meaning</th></tr></thead><tbody>"]
    for i, a in enumerate(RECOMMENDATIONS):
        out.append(f"<tr><td><code>{a}</code></td><td>{o.actions[i]:,}</td><td>{_pct(o.actions[i], o.scored)}</td>"
                   f"<td style=\"text-align:left\">{_esc(RECOMMENDATION_MEANING[a])}</td></tr>")
    out.append("</tbody></table>")
    if shown:
        head = "".join(f"<th><code>{a}</code></th>" for a in RECOMMENDATIONS)
        out.append(f"<table><thead><tr><th>{_esc(report.group_by)}</th>{head}</tr></thead><tbody>")
        for name, counts in shown:
            cls = ' class="pooled"' if name == OTHER else ""
            cells = "".join(f"<td>{counts.actions[i]:,} <small>({_pct(counts.actions[i], counts.scored)})</small></td>"
                            for i in range(len(RECOMMENDATIONS)))
            out.append(f"<tr{cls}><td>{_esc(_group_label(name, pool))}</td>{cells}</tr>")
        out.append("</tbody></table>")
    return out


def _section_cooccurrence(report: SurveyReport) -> list[str]:
    m = report.cooccur
    out = ["<h2>Categories that co-occur</h2>",
           '<p class="note">Cell (row A, column B): of the rows flagged A, the share also flagged B '
           "(the diagonal is the number of rows flagged A).</p>"]
    if not m.diagonal().any():
        return out + ["<p>No row was flagged.</p>"]
    out.append(_img(_plot_cooccurrence(m), "Co-occurrence of categories"))
    head = "".join(f"<th>{_esc(c)}</th>" for c in CATEGORIES)
    out.append(f"<table><thead><tr><th>flagged A \\ also B</th>{head}</tr></thead><tbody>")
    for a, ca in enumerate(CATEGORIES):
        cells = "".join(f"<td>{m[a, a]:,}</td>" if a == b else f"<td>{_pct(m[a, b], m[a, a])}</td>"
                        for b in range(len(CATEGORIES)))
        out.append(f"<tr><td>{_esc(ca)}</td>{cells}</tr>")
    out.append("</tbody></table>")
    pairs = sorted(((m[a, b], a, b) for a in range(len(CATEGORIES)) for b in range(a + 1, len(CATEGORIES))
                    if m[a, b]), reverse=True)[:5]
    if pairs:
        out.append("<p>Most frequent pairs: " + "; ".join(
            f"{_esc(CATEGORIES[a])} + {_esc(CATEGORIES[b])} ({k:,} rows)" for k, a, b in pairs) + ".</p>")
    return out


def _section_phrases(report: SurveyReport) -> list[str]:
    out = ["<h2>Most frequent evidence phrases</h2>"]
    if not report.evidence_seen:
        return out + ["<p>Evidence was not computed for this run: score with <code>--evidence</code> as well to "
                      "see the phrases (evidence spans cost scoring time; see <code>bench/README.md</code>).</p>"]
    out.append(f'<p class="note">Per category, the clauses the model pointed to most often as its evidence, '
               f"lower-cased, shown only when at least {PHRASE_MIN_COUNT} rows share them; a clause longer than "
               f"{PHRASE_MAX_WORDS} words or making up a whole answer is never shown.</p>")
    if report.phrases_pruned:
        out.append(f'<p class="note">The file had more than {MAX_PHRASES:,} distinct phrases in a category; the '
                   "rarest were dropped as it was read, so the counts shown are lower bounds.</p>")
    top = report.top_phrases()
    if not any(top.values()):
        return out + [f"<p>No phrase reached {PHRASE_MIN_COUNT} occurrences.</p>"]
    for c in CATEGORIES:
        if top[c]:
            out.append(f"<h3>{_esc(BY_ID[c].title)}</h3><table><thead><tr><th>phrase</th><th>rows</th></tr></thead><tbody>"
                       + "".join(f"<tr><td>{_esc(p)}</td><td>{k:,}</td></tr>" for p, k in top[c])
                       + "</tbody></table>")
    return out


# ---------------------------------------------------------------------------------------------
# plots (matplotlib, embedded as base64 PNG: no file beside the report, nothing to fetch)

def _img(png: bytes, alt: str) -> str:
    return f'<p><img alt="{_esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"></p>'


def _plain(label: str, limit: int = 40) -> str:
    """A label matplotlib prints as given: no mathtext ($), and cut to a readable length."""
    label = label if len(label) <= limit else label[:limit - 1] + "…"
    return label.replace("$", r"\$")


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=(width, height))


def _png(plt, fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _intervals(flagged: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    share = flagged / n if n else np.zeros(len(flagged))
    bounds = np.array([wilson_interval(k, n) for k in flagged]) if n else np.zeros((len(flagged), 2))
    return share, share - bounds[:, 0], bounds[:, 1] - share


def _plot_shares(o: _Counts) -> bytes:
    plt, fig, ax = _figure(8, 4.2)
    share, lo, hi = _intervals(o.flagged, o.scored)
    y = np.arange(len(CATEGORIES))[::-1]
    ax.barh(y, share, color="#4c78a8")
    ax.errorbar(share, y, xerr=[lo, hi], fmt="none", ecolor="#222", capsize=3, lw=1)
    ax.set_yticks(y, [BY_ID[c].title for c in CATEGORIES])
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel(f"share of {o.scored:,} scored rows flagged (95% Wilson interval)")
    return _png(plt, fig)


def _plot_groups(shown, pool) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 3, figsize=(11, 2.2 + 0.32 * len(shown) * 3), sharex=False)
    labels = [_plain(_group_label(name, pool)) for name, _ in shown]
    y = np.arange(len(shown))[::-1]
    for k, (ax, c) in enumerate(zip(axes.ravel(), CATEGORIES)):
        stats = [_intervals(counts.flagged[k:k + 1], counts.scored) for _, counts in shown]
        share = np.array([s[0][0] for s in stats])
        err = np.array([[s[1][0] for s in stats], [s[2][0] for s in stats]])
        ax.errorbar(share, y, xerr=err, fmt="o", color="#4c78a8", ecolor="#555", capsize=2, ms=4)
        ax.set_yticks(y, labels if k % 3 == 0 else [""] * len(labels), fontsize=8)
        ax.set_title(BY_ID[c].title, fontsize=10)
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.set_xlim(left=0)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle("Share flagged per group (95% Wilson intervals)")
    return _png(plt, fig)


def _plot_actions(o: _Counts) -> bytes:
    plt, fig, ax = _figure(8, 2.6)
    y = np.arange(len(RECOMMENDATIONS))[::-1]
    ax.barh(y, o.actions, color=["#54a24b", "#eeca3b", "#f58518", "#e45756"])
    ax.set_yticks(y, RECOMMENDATIONS)
    ax.set_xlabel("scored rows")
    return _png(plt, fig)


def _plot_cooccurrence(m: np.ndarray) -> bytes:
    plt, fig, ax = _figure(7.5, 6.2)
    diag = np.maximum(m.diagonal(), 1)[:, None]
    share = np.where(np.eye(len(CATEGORIES), dtype=bool), np.nan, m / diag)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=max(0.01, float(np.nanmax(share))))
    ax.set_xticks(range(len(CATEGORIES)), CATEGORIES, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(CATEGORIES)), CATEGORIES, fontsize=8)
    for a in range(len(CATEGORIES)):
        for b in range(len(CATEGORIES)):
            text = f"{m[a, a]:,}" if a == b else (f"{share[a, b]:.0%}" if m[a, a] else "")
            ax.text(b, a, text, ha="center", va="center", fontsize=7)
    ax.set_xlabel("also flagged B")
    ax.set_ylabel("flagged A")
    fig.colorbar(image, ax=ax, format=lambda v, _: f"{v:.0%}")
    return _png(plt, fig)

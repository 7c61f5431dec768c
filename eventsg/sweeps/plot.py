"""A summary measure of a sweep against a swept parameter (matplotlib imported when called)."""
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import SpecError
from .store import MEASURES, read_summary


def plot_summary(path, x, y="rate_hz", population=None, hue=None, output=None, ax=None):
    """Plot summary measure ``y`` of the sweep file ``path`` against grid key ``x``.

    y: a summary column ("wall_s", "spikes") or a population measure ("rate_hz",
    "silent_fraction", ... of ``eventsg.sweeps.store.MEASURES``), then for
    ``population`` (default: each gamma population, one line each). Runs that differ
    only in their seed are pooled: mean with a band of +- one standard deviation;
    ``hue="seed"`` draws one line per seed instead. Runs with other grid keys
    differing get a line each. Failed runs are left out.
    output: save the figure there (PNG, atomically). Returns the matplotlib Figure.
    """
    import matplotlib
    if output is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in read_summary(path) if r["status"] == "ok"]
    if not rows:
        raise SpecError(f"plot_summary: {path} has no finished run to plot")
    names = list(rows[0])
    if x not in names:
        raise SpecError(f"plot_summary: x = {x!r} is not allowed; x must be a column of the "
                        f"summary table: {', '.join(names[:names.index('spikes')])}")
    if hue not in (None, "seed"):
        raise SpecError(f"plot_summary: hue = {hue!r} is not allowed; hue must be None (mean +- "
                        "sd over seeds) or 'seed'")
    ycols = _y_columns(names, y, population)
    grid_keys = names[names.index("seed") + 1:names.index("spikes")]
    others = [k for k in grid_keys if k != x]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
    else:
        fig = ax.figure
    for label, col in ycols:
        lines = defaultdict(lambda: defaultdict(list))
        for r in rows:
            key = tuple(f"{k} = {r[k]}" for k in others) + \
                ((f"seed {r['seed']}",) if hue == "seed" else ())
            lines[key][r[x]].append(r[col])
        for key, points in lines.items():
            xs = sorted(points)
            ys = np.array([np.mean(points[v]) for v in xs])
            sd = np.array([np.std(points[v]) for v in xs])
            name = ", ".join(([label] if label else []) + list(key)) or None
            line, = ax.plot(xs, ys, marker="o", label=name)
            if hue is None and any(len(points[v]) > 1 for v in xs):
                ax.fill_between(xs, ys - sd, ys + sd, color=line.get_color(), alpha=0.2,
                                linewidth=0)
    ax.set_xlabel(x)
    ax.set_ylabel(y + (" (Hz)" if y == "rate_hz" else " (s)" if y.endswith("_s") else ""))
    if all(isinstance(r[x], (int, float)) and r[x] > 0 for r in rows) and _spans_decades(rows, x):
        ax.set_xscale("log")
    if any(not line.get_label().startswith("_") for line in ax.get_lines()):
        ax.legend(fontsize="small")
    pooled = hue is None and len({r["seed"] for r in rows}) > 1
    ax.set_title(f"{Path(path).name}: {y} vs {x}" + (" (mean +- sd over seeds)" if pooled else ""))
    fig.tight_layout()
    if output is not None:
        from ..io.atomic import atomic_path
        output = Path(output)
        with atomic_path(output) as tmp:
            fig.savefig(tmp, dpi=120, format=output.suffix.lstrip(".") or "png")
    return fig


def _y_columns(names, y, population):
    """[(label, column)] for measure ``y``."""
    if y in names and population is None:
        return [("", y)]
    if y not in MEASURES:
        raise SpecError(f"plot_summary: y = {y!r} is not allowed; y must be one of "
                        f"{', '.join(MEASURES)} (per population) or a column: "
                        f"{', '.join(n for n in names if '.' not in n)}")
    pops = [n[:-len(y) - 1] for n in names if n.endswith("." + y)]
    if population is not None:
        if population not in pops:
            raise SpecError(f"plot_summary: population = {population!r} is not allowed; it must "
                            f"be one of {', '.join(map(repr, pops))}")
        return [("", f"{population}.{y}")]
    return [(p if len(pops) > 1 else "", f"{p}.{y}") for p in pops]


def _spans_decades(rows, x):
    values = [r[x] for r in rows]
    return max(values) / min(values) >= 100 and not math.isnan(max(values))

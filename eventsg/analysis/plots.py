"""Plots of a SimulationResult (matplotlib, imported only when a plot is made).

Every single-panel function takes an optional matplotlib ``ax`` (a new figure is
made when it is None) and returns the Axes (``ax.figure`` is its figure);
``overview_figure`` returns a Figure. Nothing is shown: save with
``fig.savefig(path)``. Times in ms, rates in Hz.
"""
import numbers

import numpy as np

from ..model.validation import fail
from . import measures

UP_COLOR = "tab:red"        # spikes with a > 0
DOWN_COLOR = "tab:blue"     # spikes with a < 0 (down and floor)


def _axes(ax, figsize):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def _name(res, pop):
    """Population name of ``pop`` (name or object); KeyError from the result if unknown."""
    res.spikes(pop)
    return pop if isinstance(pop, str) else pop.name


def _names(res, pops):
    if pops is None:
        return list(res.populations)
    if isinstance(pops, str) or not isinstance(pops, (list, tuple)):
        pops = [pops]
    return [_name(res, p) for p in pops]


def _neuron(res, pop, neuron, owner):
    n = res.size(pop)
    if isinstance(neuron, bool) or not isinstance(neuron, numbers.Integral) \
            or not 0 <= neuron < n:
        fail(owner, "neuron", neuron, f"an integer in [0, {n}) (population size {n})")
    return int(neuron)


def raster(res, pops=None, ax=None, max_neurons=None, marker_size=4.0):
    """Spike raster, signed: a > 0 in red, a < 0 (down and floor spikes) in blue.

    pops: a population or a list (default all gamma populations), stacked bottom to
    top; max_neurons: show only the first this many neurons of each population.
    """
    if max_neurons is not None:
        max_neurons = measures._check_int("raster", "max_neurons", max_neurons, 1)
    names = _names(res, pops)
    ax = _axes(ax, (8, 4))
    offset, ticks = 0, []
    labelled = False
    for name in names:
        n = res.size(name) if max_neurons is None else min(res.size(name), max_neurons)
        s = res.spikes(name)
        keep = s.i < n
        for sign, color, label in ((s.a > 0, UP_COLOR, "a > 0 (up)"),
                                   (s.a < 0, DOWN_COLOR, "a < 0 (down, floor)")):
            m = keep & sign
            ax.scatter(s.t[m], s.i[m] + offset, s=marker_size, marker="|", color=color,
                       linewidths=0.8, label=None if labelled else label)
        labelled = True
        ticks.append((offset + 0.5 * (n - 1), name))
        offset += n
        if name != names[-1]:
            ax.axhline(offset - 0.5, color="0.6", lw=0.6)
    ax.set_yticks([t for t, _ in ticks], [lbl for _, lbl in ticks])
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax.set_xlim(0.0, res.t_reached if res.t_reached > 0 else res.duration)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.legend(loc="upper right", fontsize="small", markerscale=3)
    return ax


def plot_population_rate(res, pops=None, bin_ms=1.0, smooth_ms=None, ax=None):
    """Population rate (Hz) over time, one line per population; see measures.population_rate."""
    names = _names(res, pops)
    ax = _axes(ax, (8, 3))
    for name in names:
        t, rate = measures.population_rate(res, name, bin_ms, smooth_ms)
        ax.plot(t, rate, lw=1.0, label=name)
    ax.set_xlim(0.0, res.t_reached if res.t_reached > 0 else res.duration)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz)")
    ax.set_title(f"population rate (bins {bin_ms:g} ms"
                 + (f", Gaussian sd {smooth_ms:g} ms)" if smooth_ms else ")"), fontsize="medium")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_neuron_state(res, pop, neuron=0, ax=None, buckets=True):
    """One neuron's signal y (sampled) with the band y +- theta, its transmitted r (an
    exact step function rebuilt from its spikes) and, if ``buckets``, its buckets z."""
    st = res.state(pop)
    name = _name(res, pop)
    j = _neuron(res, pop, neuron, "plot_neuron_state")
    ax = _axes(ax, (8, 3))
    y, th = st.y[:, j], st.theta[:, j]
    ax.fill_between(st.t, y - th, y + th, color="0.85", lw=0, label="y \u00b1 \u03b8")
    if buckets:
        K = st.z.shape[2]
        for k in range(K):
            ax.plot(st.t, st.z[:, j, k], lw=0.7, ls="--", alpha=0.7,
                    color=(0.2 + 0.6 * k / max(K - 1, 1),) * 3, label=f"z{k + 1}")
    ax.plot(st.t, y, color="k", lw=1.2, label="y")
    s = res.spikes(name)
    mine = s.i == j
    t_end = res.t_reached if res.t_reached > 0 else res.duration
    t_step = np.concatenate([[0.0], s.t[mine], [t_end]])
    r_step = np.concatenate([[0.0], np.cumsum(s.a[mine])])
    ax.step(t_step, np.append(r_step, r_step[-1]), where="post", color=UP_COLOR, lw=1.2,
            label="r (transmitted)")
    ax.set_xlim(0.0, t_end)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("signal")
    ax.set_title(f"{name} neuron {j}", fontsize="medium")
    ax.legend(loc="upper right", fontsize="x-small", ncol=3)
    return ax


def plot_sparsity(res, pops=None, ax=None):
    """Bar chart per population: mean rate (Hz, left axis) and silent fraction (right axis)."""
    names = _names(res, pops)
    ax = _axes(ax, (5, 3))
    x = np.arange(len(names))
    rates = [measures.mean_rate(res, p) for p in names]
    silent = [measures.silent_fraction(res, p) for p in names]
    ax.bar(x - 0.2, rates, width=0.4, color="tab:green", label="rate (Hz)")
    ax.set_ylabel("mean rate (Hz)")
    ax.set_xticks(x, names)
    right = ax.twinx()
    right.bar(x + 0.2, silent, width=0.4, color="0.5", label="silent fraction")
    right.set_ylim(0.0, 1.0)
    right.set_ylabel("silent fraction")
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper right", fontsize="small")
    ax.set_title("sparsity per population", fontsize="medium")
    return ax


def overview_figure(res, pops=None, bin_ms=1.0, smooth_ms=None, state_pop=None, neuron=None,
                    figsize=(9, 7)):
    """One figure: raster, population rate and (when a state was recorded) one neuron's trace.

    state_pop: population whose neuron is traced (default: the first with a recorded
    state); neuron: its index (default: its most active neuron). Returns a Figure.
    """
    from matplotlib.figure import Figure
    names = _names(res, pops)
    if state_pop is None:
        state_pop = next((p for p in names if measures._has_state(res, p)), None)
    else:
        state_pop = _name(res, state_pop)
        res.state(state_pop)            # KeyError with a clear message when not recorded
    rows = 3 if state_pop is not None else 2
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, height_ratios=[2, 1, 1.3][:rows])
    raster(res, names, ax=axes[0])
    plot_population_rate(res, names, bin_ms, smooth_ms, ax=axes[1])
    if state_pop is not None:
        if neuron is None:
            neuron = int(np.argmax(measures.spike_counts(res, state_pop)))
        plot_neuron_state(res, state_pop, neuron, ax=axes[2])
    for a in axes[:-1]:
        a.set_xlabel("")
    engine = getattr(res.stats, "engine", None)
    title = (f"{engine} engine, " if engine else "") + f"{res.t_reached:g} ms"
    if res.status != "ok":
        title += f" (stopped: {res.status})"
    fig.suptitle(title)
    return fig

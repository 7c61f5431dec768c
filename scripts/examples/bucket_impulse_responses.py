"""Bucket impulse responses: the gamma cascade as a bank of smoothed delays.

A single input pulse at t0 drives two SpikingGamma neurons with K = 8 buckets:
one with equal time constants (tau = 1 ms each) and one with geometrically spread
time constants (0.5 .. 4 ms). Bucket k of a K-bucket cascade does not depend on the
buckets after it, so the 8 buckets show the impulse responses of the cascades with
K = 1 .. 8. The pulse goes through weight 1 / tau_1, so bucket 1 jumps by 1 / tau_1
and every bucket's response h_k(t) has unit area (docs/model.md, section 2).

The recorded buckets (analytic evaluation by the event-driven engine) are compared
with closed forms:

* equal tau: the gamma kernel h_k(t) = t^(k-1) e^(-t/tau) / (tau^k (k-1)!);
* spread tau: h(t) = expm(A t) e_1 / tau_1, from scipy.linalg.expm and from the
  package's exact propagator ``eventsg.engine.propagator.propagator``.

The script prints the largest deviation, each kernel's numerical area (1) and
mean delay (which should be tau_1 + ... + tau_k), marked on the curves.

    python scripts/examples/bucket_impulse_responses.py [--out DIR] [--quick]
"""
import argparse
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.integrate import simpson  # noqa: E402
from scipy.linalg import expm  # noqa: E402

import eventsg as esg  # noqa: E402
from eventsg.engine.propagator import propagator  # noqa: E402

from figure_output import save_figure  # noqa: E402

K = 8
T0 = 1.0  # ms, time of the input pulse


def gamma_kernel(t, k, tau):
    """Normalised gamma kernel of order k (ms^-1)."""
    t = np.maximum(t, 0.0)
    return t ** (k - 1) * np.exp(-t / tau) / (tau ** k * math.factorial(k - 1))


def cascade_matrix(tau):
    """The lower-bidiagonal cascade matrix A (1/ms)."""
    lam = 1.0 / np.asarray(tau)
    return np.diag(-lam) + np.diag(lam[1:], -1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="figures/", help="directory for the PNG (default figures/)")
    ap.add_argument("--quick", action="store_true", help="short run for tests")
    args = ap.parse_args(argv)

    span = 60.0 if args.quick else 150.0        # ms after the pulse
    dt_sample = 0.05 if args.quick else 0.01    # ms, sampling of the recorded state
    cases = {"equal": np.full(K, 1.0), "spread": np.geomspace(0.5, 4.0, K)}

    net = esg.Network(seed=1)
    pulse = net.add(esg.SpikeSource(n=1, times=[T0], ids=[0], coding="pulse", name="pulse"))
    pops = {}
    for name, tau in cases.items():
        # theta is large: the neuron's output spikes do not touch its buckets anyway
        pops[name] = net.add(esg.GammaPopulation(n=1, K=K, tau=tau, theta=10.0, name=name))
        net.connect(pulse, pops[name], weights=np.array([[1.0 / tau[0]]]), delay=0.0)
    t = T0 + np.arange(0.0, span + dt_sample / 2, dt_sample)
    res = net.run(duration=T0 + span, sample_times=t)
    s = t - T0                                    # time since the pulse, ms

    # scipy's expm costs milliseconds a call: it is evaluated on a coarser grid
    every = int(round((2.0 if args.quick else 0.25) / dt_sample))
    sub = np.arange(0, s.size, every)
    measured, analytic, report = {}, {}, {}
    for name, tau in cases.items():
        z = res.state(pops[name]).z[:, 0, :]      # (S, K)
        measured[name] = z
        A = cascade_matrix(tau)
        via_expm = np.array([expm(A * si)[:, 0] for si in s[sub]]) / tau[0]
        via_prop = np.array([propagator(tau, si)[:, 0] for si in s]) / tau[0]
        if name == "equal":
            ref = np.stack([gamma_kernel(s, k, tau[0]) for k in range(1, K + 1)], axis=1)
            label_ref = "gamma kernel formula"
            dev_t, dev = s, np.abs(z - ref).max(axis=1)
        else:
            ref = via_prop
            label_ref = "scipy.linalg.expm"
            dev_t, dev = s[sub], np.abs(z[sub] - via_expm).max(axis=1)
        analytic[name] = ref
        report[name] = dict(
            ref=label_ref, dev=dev.max(), dev_t=dev_t, dev_curve=dev,
            dev_expm=np.max(np.abs(z[sub] - via_expm)), dev_prop=np.max(np.abs(z - via_prop)),
            area=simpson(z, x=s, axis=0), mean=simpson(z * s[:, None], x=s, axis=0),
            delay=np.cumsum(tau))

    for name, tau in cases.items():
        r = report[name]
        print(f"{name} time constants tau = {np.array2string(tau, precision=3)} ms")
        grid = f"every {every * dt_sample:g} ms"
        print(f"  max |simulated - analytic|: {r['ref']} {r['dev']:.2e}; "
              f"scipy expm ({grid}) {r['dev_expm']:.2e}; "
              f"eventsg propagator (every sample) {r['dev_prop']:.2e}")
        print("   k   area (Simpson)   mean delay (ms)   sum tau_1..k (ms)   peak (1/ms)")
        for k in range(K):
            print(f"  {k + 1:2d}   {r['area'][k]:.10f}   {r['mean'][k]:13.6f}   "
                  f"{r['delay'][k]:15.6f}   {measured[name][:, k].max():10.5f}")
    worst = max(r["dev"] for r in report.values())
    area_err = max(np.max(np.abs(r["area"] - 1.0)) for r in report.values())
    print(f"largest deviation simulated vs analytic: {worst:.2e}; "
          f"largest |area - 1|: {area_err:.2e} "
          f"(Simpson quadrature over {span:g} ms, step {dt_sample:g} ms)")
    print(res.stats)

    # ------------------------------------------------------------------ figure
    fig, ax = plt.subplots(3, 1, figsize=(10, 12), gridspec_kw={"height_ratios": [3, 3, 2]})
    colors = plt.cm.viridis(np.linspace(0.0, 0.9, K))
    xmax = {"equal": 22.0, "spread": 40.0}
    for a, (name, tau) in zip(ax[:2], cases.items()):
        z, ref, delay = measured[name], analytic[name], report[name]["delay"]
        for k in range(K):
            a.plot(s, z[:, k], color=colors[k], lw=2.2, alpha=0.8,
                   label=fr"$z^{{{k + 1}}}$, mean delay {delay[k]:.2f} ms")
            a.plot(s, ref[:, k], color="k", lw=0.8, ls="--",
                   label=("gamma kernel formula" if name == "equal" else
                          "exact propagator (checked vs scipy expm)") if k == 0 else None)
            h = np.interp(delay[k], s, z[:, k])
            a.plot([delay[k]], [h], "o", color=colors[k], mec="k", ms=6, zorder=5)
            a.vlines(delay[k], 0, h, color=colors[k], lw=0.8, ls=":")
        a.plot([], [], "o", color="0.7", mec="k", label=r"mean delay $\sum_{i\leq k}\tau_i$")
        a.set_xlim(-0.5, xmax[name])
        a.set_ylim(0, None)
        a.set_xlabel("time since the pulse (ms)")
        a.set_ylabel("bucket response $z^k(t)$ (1/ms)")
        taus = ", ".join(f"{x:.2f}" for x in tau)
        a.set_title(f"({'ab'[list(cases).index(name)]}) {name} time constants, tau = [{taus}] ms"
                    f"  (max dev {report[name]['dev']:.1e})", fontsize=10)
        a.legend(fontsize=7.5, ncol=2, loc="upper right")
    floor = 1e-18
    for name, ls, mk in (("equal", "-", "."), ("spread", "--", "x")):
        r = report[name]
        dev_t, dev = r["dev_t"], r["dev_curve"]
        if dev_t.size > sub.size:               # block maxima on the expm grid, for legibility
            dev = np.array([dev[i:i + every].max() for i in range(0, dev.size, every)])
            dev_t = dev_t[::every]
        ax[2].semilogy(dev_t, np.maximum(dev, floor), ls=ls, marker=mk, ms=3, lw=0.8,
                       label=f"{name} tau: max over k of |simulated - {r['ref']}|")
    ax[2].axhline(np.finfo(float).eps, color="0.5", lw=0.8, ls=":",
                  label="double-precision epsilon 2.2e-16")
    ax[2].set_xlim(0, 40.0)
    ax[2].set_ylim(floor / 2, 1e-11)
    ax[2].set_xlabel("time since the pulse (ms)")
    ax[2].set_ylabel("absolute deviation (1/ms)")
    ax[2].set_title(f"(c) event-driven engine vs closed form, max per {every * dt_sample:g} ms "
                    f"(exact zeros drawn at {floor:g})", fontsize=10)
    ax[2].legend(fontsize=8, loc="upper right")
    fig.suptitle(f"Impulse responses of a K = {K} bucket cascade (unit pulse at t = {T0:g} ms, "
                 "weight 1/tau_1)", fontsize=12)
    fig.tight_layout()

    save_figure(fig, args.out, "bucket_impulse_responses.png")
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())

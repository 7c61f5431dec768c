"""Sparsity versus accuracy: sweeping the sigma-delta threshold theta.

A fixed input (100 Poisson trains at 10 Hz, pulse coding, fixed seed) drives a
layer of SpikingGamma neurons (K = 4, tau = 1, 2, 4, 8 ms). The bucket weights are
v = (0, 0.2, 0.3, 0.5): bucket 1 (which jumps at each input pulse) is left out, so
every neuron's signal y(t) is continuous and all its spikes are the +-theta steps
of the sigma-delta code. The same network is run for thresholds theta log-spaced
over 2.5 decades; for each we measure

* spikes per neuron per second: about TV / theta, TV being the total variation of
  y per second (measured from the sampled states), so ~ 1 / theta;
* the transmission error |y - r| sampled every 0.1 ms: never above theta, RMS
  about theta / sqrt(3) (uniform within the band), so ~ theta.

Their product is nearly constant: halving the error costs twice the spikes.

    python scripts/examples/threshold_sweep.py [--out DIR] [--quick]
"""
import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import eventsg as esg  # noqa: E402

from figure_output import save_figure  # noqa: E402


def build(theta, n_in, n, weights):
    """The network for one threshold (same inputs and weights each time)."""
    net = esg.Network(seed=1)
    inp = net.add(esg.PoissonSource(n=n_in, rate=10.0, seed=7, coding="pulse", name="inputs"))
    layer = net.add(esg.GammaPopulation(n=n, K=4, tau=[1.0, 2.0, 4.0, 8.0],
                                        v=[0.0, 0.2, 0.3, 0.5], bias=0.1, theta=theta,
                                        name="layer"))
    net.connect(inp, layer, weights=weights, delay=1.0)
    return net, layer


def loglog_slope(x, y):
    return np.polyfit(np.log(x), np.log(y), 1)[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="figures/", help="directory for the PNG (default figures/)")
    ap.add_argument("--quick", action="store_true", help="short run for tests")
    args = ap.parse_args(argv)

    if args.quick:
        T, n, thetas = 100.0, 5, np.geomspace(1e-2, 0.3, 4)
    else:
        T, n, thetas = 1000.0, 20, np.geomspace(1e-3, 0.3, 10)
    n_in, dt_sample = 100, 0.1   # inputs; ms between state samples (analytic, not a time step)
    weights = np.random.default_rng(3).normal(0.3, 0.3, (n_in, n))
    t = np.arange(0.0, T + dt_sample / 2, dt_sample)

    rows, traces = [], {}
    show = (thetas[np.argmin(np.abs(thetas - 0.01))], thetas[np.argmin(np.abs(thetas - 0.1))])
    for theta in thetas:
        net, layer = build(theta, n_in, n, weights)
        t0 = time.perf_counter()
        res = net.run(duration=T, sample_times=t, progress=False)
        wall = time.perf_counter() - t0
        st = res.state(layer)
        err = np.abs(st.y - st.r)
        rate = len(res.spikes(layer)) / n / (T * 1e-3)
        tv = np.abs(np.diff(st.y, axis=0)).sum() / n / (T * 1e-3)
        rows.append(dict(theta=theta, rate=rate, rms=np.sqrt(np.mean(err ** 2)), max=err.max(),
                         tv=tv, wall=wall, zero=np.mean(st.x <= 0), std=st.y.std(axis=0).mean()))
        if theta in show:
            traces[theta] = (st.t, st.y[:, 0].copy(), st.r[:, 0].copy())

    th = np.array([r["theta"] for r in rows])
    rate = np.array([r["rate"] for r in rows])
    rms = np.array([r["rms"] for r in rows])
    mx = np.array([r["max"] for r in rows])
    tv = rows[0]["tv"]
    std_y = rows[0]["std"]
    print(f"input: {n_in} Poisson trains at 10 Hz -> {n} gamma neurons (K=4), {T:g} ms; "
          f"signal y: mean total variation {tv:.2f} /s, temporal std {std_y:.3f}, "
          f"time at the ReLU floor {rows[0]['zero'] * 100:.2f} %")
    print("   theta   spikes/neuron/s  theta*spikes/TV   RMS|y-r|   RMS/theta  max/theta"
          "   RMS*spikes   wall (s)")
    for r in rows:
        print(f"  {r['theta']:.4f}  {r['rate']:14.1f}  {r['theta'] * r['rate'] / tv:14.3f}"
              f"   {r['rms']:.3e}  {r['rms'] / r['theta']:9.3f}  {r['max'] / r['theta']:9.4f}"
              f"   {r['rms'] * r['rate']:10.3f}   {r['wall']:7.2f}")
    small = th <= std_y / 10     # asymptotic regime: theta well below the signal's swings
    if small.sum() < 3:
        small = np.ones_like(th, dtype=bool)
    s_rate, s_rms = loglog_slope(th[small], rate[small]), loglog_slope(th[small], rms[small])
    print(f"small-theta limit of RMS * spikes/s: TV / sqrt(3) = {tv / np.sqrt(3):.3f}")
    print(f"log-log slopes over theta <= {th[small].max():.3g}: spikes ~ theta^{s_rate:.3f}, "
          f"RMS error ~ theta^{s_rms:.3f}, error vs spikes ~ spikes^{s_rms / s_rate:.3f}")
    ok = bool(np.all(mx <= th * (1 + 1e-12)))
    print("bound max |y - r| <= theta holds for every theta:", ok)

    # ------------------------------------------------------------------ figure
    fig, ax = plt.subplots(2, 2, figsize=(12, 9.5))
    a = ax[0, 0]
    a.loglog(th, rate, "o-", color="C0", label="measured")
    a.loglog(th, tv / th, "k--", lw=0.9, label=f"TV / theta (TV = {tv:.1f} per s)")
    a.axvline(std_y, color="0.5", ls=":", lw=1, label=f"std of y ({std_y:.2f})")
    a.set_xlabel(r"threshold $\theta$ (dimensionless)")
    a.set_ylabel("spikes per neuron per second (Hz)")
    a.set_title(fr"(a) spike rate ~ $\theta^{{{s_rate:.2f}}}$ "
                fr"(fit for $\theta \leq$ {th[small].max():.2g})")
    a.legend(fontsize=8)

    a = ax[0, 1]
    a.loglog(th, rms, "o-", color="C1", label="RMS |y - r|")
    a.loglog(th, mx, "s-", color="C3", ms=4, label="max |y - r|")
    a.loglog(th, th, "k--", lw=0.9, label=r"$\theta$ (bound)")
    a.loglog(th, th / np.sqrt(3), "k:", lw=0.9, label=r"$\theta/\sqrt{3}$ (uniform error)")
    a.set_xlabel(r"threshold $\theta$ (dimensionless)")
    a.set_ylabel("transmission error (dimensionless)")
    a.set_title(fr"(b) RMS error ~ $\theta^{{{s_rms:.2f}}}$, never above $\theta$")
    a.legend(fontsize=8)

    a = ax[1, 0]
    a.loglog(rate, rms, "o-", color="C2", label=r"measured (one point per $\theta$)")
    c = tv / np.sqrt(3)          # small theta: (theta / sqrt 3) * (TV / theta)
    xs = np.geomspace(rate.min(), rate.max(), 50)
    a.loglog(xs, c / xs, "k--", lw=0.9,
             label=fr"RMS x rate = TV/$\sqrt{{3}}$ = {c:.1f} /s (small-$\theta$ limit, slope -1)")
    for x, y, tt in zip(rate, rms, th):
        a.annotate(fr"$\theta$={tt:.3g}", (x, y), textcoords="offset points", xytext=(5, 4),
                   fontsize=7)
    a.set_xlabel("spikes per neuron per second (Hz)")
    a.set_ylabel("RMS transmission error |y - r|")
    a.set_title("(c) sparsity / accuracy trade-off")
    a.legend(fontsize=8, loc="lower left")

    a = ax[1, 1]
    win = (0.3 * T, 0.3 * T + min(60.0, 0.5 * T))
    for k, (theta, color) in enumerate(zip(show, ("C4", "C5"))):
        tt, y, r = traces[theta]
        sel = (tt >= win[0]) & (tt <= win[1])
        if k == 0:
            a.plot(tt[sel], y[sel], color="k", lw=1.6, label="neuron 0 signal y(t)")
        a.plot(tt[sel], r[sel], color=color, lw=1.0, drawstyle="steps-post",
               label=fr"transmitted r(t), $\theta$={theta:.3g}")
    a.set_xlabel("time (ms)")
    a.set_ylabel("signal (dimensionless)")
    a.set_title("(d) one neuron at two thresholds")
    a.legend(fontsize=8)
    fig.suptitle(f"Threshold sweep: {n} SpikingGamma neurons driven by {n_in} Poisson inputs, "
                 f"{T:g} ms per run", fontsize=12)
    fig.tight_layout()

    save_figure(fig, args.out, "threshold_sweep.png")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Sigma-delta coding of an analog signal, end to end.

An analog signal s(t) (a sum of sines) enters the network as a ``SignalSource``:
the engine encodes it exactly into signed spikes of +-theta_in, so the signal the
source transmits, r_in(t) (a staircase: the running sum of its spikes), never
leaves the band |s - r_in| < theta_in. It drives a layer of SpikingGamma neurons
with one bucket (K = 1, v = 1, tau = 1 ms), so each neuron's signal y(t) is the
staircase smoothed by 1 ms. Each neuron sends y with its own threshold theta; the
signal it transmits, r(t), is recorded with the state and must satisfy
|y - r| <= theta at all times.

The source's spikes are not part of the results, so the staircase r_in(t) is
rebuilt here from the documented encoding rule (docs/model-choices.md) and checked
against the engine: filtering it through the neuron's bucket analytically must
give the recorded bucket z(t) to rounding error.

    python scripts/examples/sigma_delta_reconstruction.py [--out DIR] [--quick]
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import eventsg as esg  # noqa: E402

from figure_output import save_figure  # noqa: E402


def analog_signal(t):
    """The analog input: offset plus three sines (periods 80, 30 and 11 ms)."""
    return (0.55 + 0.25 * np.sin(2 * np.pi * t / 80.0) + 0.15 * np.sin(2 * np.pi * t / 30.0 + 1.0)
            + 0.06 * np.sin(2 * np.pi * t / 11.0 + 2.0))


def encode(ts, s, theta):
    """Sigma-delta events (times, amplitudes) of the piecewise-linear signal (ts, s).

    The rule of a SignalSource: r starts at 0; a graded spike s(0) at t = 0 if
    |s(0)| >= theta; then on each linear piece a spike of +theta when s reaches
    r + theta and -theta when it reaches r - theta (analytic times).
    """
    times, amps = [], []
    r = 0.0
    if abs(s[0]) >= theta:
        times.append(ts[0])
        amps.append(s[0])
        r = s[0]
    for ta, tb, sa, sb in zip(ts[:-1], ts[1:], s[:-1], s[1:]):
        if sb == sa:
            continue
        step = theta if sb > sa else -theta
        while (r + step <= sb) if step > 0 else (r + step >= sb):
            level = r + step
            times.append(min(max(ta + (level - sa) * (tb - ta) / (sb - sa), ta), tb))
            amps.append(step)
            r = level
    return np.array(times), np.array(amps)


def staircase(times, amps, t):
    """The transmitted signal r(t) = sum of amplitudes of events at or before t."""
    csum = np.concatenate([[0.0], np.cumsum(amps)])
    return csum[np.searchsorted(times, t, side="right")]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="figures/", help="directory for the PNG (default figures/)")
    ap.add_argument("--quick", action="store_true", help="short run for tests")
    args = ap.parse_args(argv)

    T = 60.0 if args.quick else 200.0            # ms
    dt_sample = 0.01 if args.quick else 0.005    # ms, state sampling (analytic, not a time step)
    theta_in = 0.02                              # encoder threshold of the source
    thetas = np.array([0.02, 0.05, 0.1])         # one neuron per output threshold
    tau, delay = 1.0, 0.5                        # ms

    ts = np.arange(0.0, T + 0.25, 0.25)          # the signal's samples (piecewise linear)
    s = analog_signal(ts)

    net = esg.Network(seed=1)
    src = net.add(esg.SignalSource(t=ts, values=s, theta=theta_in, name="analog"))
    layer = net.add(esg.GammaPopulation(n=thetas.size, K=1, tau=tau, v=1.0, bias=0.0,
                                        theta=thetas, name="layer"))
    net.connect(src, layer, weights=np.ones((1, thetas.size)), delay=delay)
    t = np.arange(0.0, T + dt_sample / 2, dt_sample)
    res = net.run(duration=T, sample_times=t)
    st = res.state(layer)
    spk = res.spikes(layer)

    # the source's staircase, rebuilt from the rule and checked against the engine
    t_in, a_in = encode(ts, s, theta_in)
    r_in = staircase(t_in, a_in, t)
    s_t = np.interp(t, ts, s)
    arrive = t_in + delay
    z_pred = np.zeros_like(t)
    for tm, am in zip(arrive, a_in):
        on = t >= tm
        z_pred[on] += am * (1.0 - np.exp(-(t[on] - tm) / tau))
    check = np.max(np.abs(st.z[:, 0, 0] - z_pred))
    enc_err = np.max(np.abs(s_t - r_in))

    print(f"input: {a_in.size} sigma-delta spikes in {T:g} ms "
          f"({np.sum(a_in > 0)} up, {np.sum(a_in < 0)} down), theta_in = {theta_in}")
    print(f"input staircase: max |s - r_in| = {enc_err:.4f} = {enc_err / theta_in:.4f} theta_in")
    print(f"staircase rebuilt from the rule vs engine (bucket z through K=1 filter): "
          f"max |z_engine - z_rule| = {check:.2e}")
    lag = delay + tau
    settled = t >= 5.0 * tau + delay
    track = np.sqrt(np.mean((st.y[settled, 0] - np.interp(t[settled] - lag, ts, s)) ** 2))
    print(f"neuron y vs analog s(t - {lag:g} ms) after the start-up transient: "
          f"RMS difference {track:.4f}")
    print("neuron  theta   spikes  spikes/s   max|y-r|  max|y-r|/theta  RMS|y-r|/theta")
    ok = True
    for j, th in enumerate(thetas):
        err = np.abs(st.y[:, j] - st.r[:, j])
        n = int(np.sum(spk.i == j))
        print(f"{j:6d}  {th:5.3f}  {n:7d}  {n / (T * 1e-3):8.0f}   {err.max():.5f}   "
              f"{err.max() / th:14.4f}  {np.sqrt(np.mean(err ** 2)) / th:14.4f}")
        ok &= bool(err.max() <= th * (1 + 1e-12))
    print("reconstruction bound |y - r| <= theta holds at every sample:", ok)
    print(res.stats)

    # ------------------------------------------------------------------ figure
    j = 1  # the neuron shown in detail (theta = 0.05)
    mine = spk.i == j
    s_lag = np.interp(t - lag, ts, s)
    fig, ax = plt.subplots(5, 1, figsize=(10, 13.5),
                           gridspec_kw={"height_ratios": [3, 1.2, 3, 3, 1.8]})
    ax[0].plot(t, s_t, color="0.3", lw=2.0, label="analog signal s(t)")
    ax[0].plot(t, r_in, color="C0", lw=1.0, drawstyle="steps-post",
               label=fr"transmitted staircase $r_{{in}}(t)$ ($\theta_{{in}}$={theta_in})")
    ax[0].fill_between(t, s_t - theta_in, s_t + theta_in, color="0.6", alpha=0.3, lw=0,
                       label=r"band $s \pm \theta_{in}$")
    ax[0].set_ylabel("signal (dimensionless)")
    ax[0].set_title(f"(a) SignalSource: analog signal and its exact sigma-delta code "
                    f"(max |s - r_in| = {enc_err / theta_in:.2f} $\\theta_{{in}}$)")
    ax[0].legend(loc="lower left", fontsize=8, ncol=3)

    up = a_in > 0
    ax[1].vlines(t_in[up], 0, a_in[up], color="C3", lw=0.8, label=r"up ($+\theta_{in}$)")
    ax[1].vlines(t_in[~up], 0, a_in[~up], color="C2", lw=0.8, label=r"down ($-\theta_{in}$)")
    ax[1].set_ylim(-1.8 * theta_in, 1.8 * theta_in)
    ax[1].axhline(0, color="k", lw=0.5)
    ax[1].set_ylabel("amplitude")
    ax[1].set_title(f"(b) input spikes, signed ({a_in.size} spikes)")
    ax[1].legend(loc="upper right", fontsize=8, ncol=2)

    ax[2].plot(t, s_lag, color="0.5", lw=2.0, ls=":", label=f"s(t - {lag:g} ms) (delay + tau)")
    ax[2].plot(t, st.y[:, j], color="C1", lw=1.5, label="neuron signal y(t)")
    ax[2].plot(t, st.r[:, j], color="C4", lw=1.0, drawstyle="steps-post",
               label=fr"transmitted r(t) ($\theta$={thetas[j]})")
    ax[2].plot(spk.t[mine], np.full(mine.sum(), -0.05), "|", color="C4", ms=8,
               label=f"neuron spikes ({mine.sum()})")
    ax[2].set_ylim(-0.1, 1.1)
    ax[2].set_ylabel("signal (dimensionless)")
    ax[2].set_title(f"(c) gamma neuron (K=1, tau={tau:g} ms, v=1, delay {delay:g} ms): "
                    "y(t) and transmitted r(t)")
    ax[2].legend(loc="upper left", fontsize=8, ncol=2)

    w0, w1 = (0.4 * T, 0.4 * T + min(30.0, 0.3 * T))
    zoom = (t >= w0) & (t <= w1)
    ax[3].plot(t[zoom], s_t[zoom], color="0.3", lw=2.0, label="analog s(t)")
    ax[3].plot(t[zoom], r_in[zoom], color="C0", lw=1.0, drawstyle="steps-post",
               label=r"input staircase $r_{in}(t)$")
    ax[3].plot(t[zoom], st.y[zoom, j], color="C1", lw=1.5, label="neuron y(t)")
    ax[3].plot(t[zoom], st.r[zoom, j], color="C4", lw=1.2, drawstyle="steps-post",
               label="neuron r(t)")
    ax[3].fill_between(t[zoom], st.y[zoom, j] - thetas[j], st.y[zoom, j] + thetas[j],
                       color="C1", alpha=0.15, lw=0, label=r"band $y \pm \theta$")
    ax[3].set_ylabel("signal (dimensionless)")
    ax[3].set_title(f"(d) zoom on {w0:g}-{w1:g} ms (shaded in a and c)")
    for a in (ax[0], ax[2]):
        a.axvspan(w0, w1, color="C9", alpha=0.08, lw=0)
    ax[3].legend(loc="best", fontsize=8, ncol=2)

    ax[4].plot(t, (st.y[:, j] - st.r[:, j]) / thetas[j], lw=0.8, color="C4",
               label=fr"neuron $(y-r)/\theta$ ($\theta$={thetas[j]})")
    ax[4].plot(t, (s_t - r_in) / theta_in, lw=0.6, color="C0", alpha=0.6,
               label=r"input $(s-r_{in})/\theta_{in}$")
    ax[4].axhline(1, color="k", ls="--", lw=0.8)
    ax[4].axhline(-1, color="k", ls="--", lw=0.8, label=r"bound $\pm 1$")
    ax[4].set_ylim(-1.2, 1.9)
    ax[4].set_ylabel("error / threshold")
    ax[4].set_title("(e) reconstruction error in units of the threshold (never beyond the bound)")
    ax[4].legend(loc="upper right", fontsize=8, ncol=3)
    for a in (ax[0], ax[1], ax[2], ax[4]):
        a.set_xlim(0, T)
    for a in ax:
        a.set_xlabel("time (ms)")
    fig.tight_layout()

    save_figure(fig, args.out, "sigma_delta_reconstruction.png")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

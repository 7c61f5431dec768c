"""Precise temporal pattern detection learned online (no surrogate gradient, no BPTT).

100 input channels fire Poisson spikes at 40 Hz. A frozen spatio-temporal pattern
of 50 ms (2 spikes on every channel, drawn once from the seed) recurs at random
times; in each occurrence the pattern replaces the background (Masquelier et al.
2008 layout, ``eventsg.datasets.temporal_pattern``), so the input rate is 40 Hz
inside and outside the pattern and only the spike timing tells them apart. The
read-out must signal every occurrence at its end.

Network (default, no hidden layer): the inputs reach one read-out SpikingGamma
neuron through projections with delays 0, 10, ..., 50 ms, so each channel has one
weight per delay: its learned temporal kernel is a sum of shifted copies of the
read-out's bucket response. With --hidden N, N hidden SpikingGamma neurons take
that place: the inputs reach them through the delay bank (--hidden-delays), and
the read-out hears only them (one projection, --hidden-out-delay; --direct keeps
the input -> read-out delay bank too). Hidden neurons start below their
threshold (bias --hidden-bias, theta --hidden-theta) and every hidden -> read-out
weight starts at --hidden-out-w, so a single hidden spike moves the read-out a
lot and few hidden spikes are needed. Training: MSE of the read-out signal x(t)
to a target pulse per occurrence (0 until end - rise, 1 from end + rise to
end + hold, back to 0 after a further fall ms: it crosses 0.5 exactly at the
pattern's end), updates at events (docs/learning.md) with SGD; with a hidden
layer every weight, bucket weight and bias of both layers is trained (the hidden
error is the read-out's passed back through the forward weights).

Detection: the read-out's threshold is the detection threshold (0.5), so its
spikes are the detections, found exactly by the event-driven engine: a
detection is a read-out spike that takes its transmitted level r from 0 to
theta, i.e. an upward crossing of x over theta; the neuron re-arms when x falls
back to 0 (its floor spike sets r = 0). Detections are matched one-to-one to the
true pattern ends within a tolerance (``detection_scores``); timing error =
detection time - end time. Held-out sequences come from the generator's test
stream (other seeds, the same pattern) and are run with the forward engine and
the trained parameters. Controls: the same detector on sequences without the
pattern (false alarms per second) and on sequences whose pattern spikes are
jittered (Gaussian, --jitter ms): if timing is what is detected, F1 drops.

    python scripts/train_temporal_pattern.py             # the full task
    python scripts/train_temporal_pattern.py --quick     # a smoke run (20 s once compiled)
    # with a trained hidden layer of 10 neurons (about 3 min on one core):
    python scripts/train_temporal_pattern.py --hidden 10 --train 200 --duration 300 \
        --occurrences 1,2 --epochs 1

Hidden-layer training costs more per sample (every arrival at a hidden neuron
flushes all its incoming synapses, every arrival at the read-out syncs the hidden
layer), so the hidden variant trains on shorter sequences.

Prints per-epoch loss and held-out metrics, the input rate inside and outside the
occurrences, the spikes per neuron per second of the read-out and of the hidden
layer (in training, from the trainer's counts, and on the held-out sequences,
with how many hidden neurons spiked at all), the throughput (training
samples/s); saves the learning curve, a figure of one held-out sequence and the
final metrics (CSV and JSON) to --out.
"""
import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

import eventsg as esg
from eventsg.datasets import detection_scores, temporal_pattern
from eventsg.training import Trainer, evaluate

INPUT, HIDDEN, READOUT = "input", "hidden", "readout"


def floats(text):
    return [float(x) for x in str(text).split(",") if x.strip()]


def ints(text):
    return [int(x) for x in str(text).split(",") if x.strip()]


# ---------------------------------------------------------------- data

def make_data(args, n_train, n_test, occurrences=None, jitter_ms=0.0, duration=None):
    """(train, test) SpikeDatasets of the task; the pattern depends only on args.seed.

    occurrences: per sequence, "n" or "lo,hi" (default args.occurrences); duration:
    sequence length in ms (default args.duration).
    """
    occ = ints(args.occurrences if occurrences is None else occurrences)
    return temporal_pattern(n_channels=args.channels, rate_hz=args.rate, pattern_ms=args.pattern_ms,
                            spikes_per_channel=args.spikes_per_channel or None,
                            pattern_fraction=args.pattern_fraction,
                            duration_ms=args.duration if duration is None else duration,
                            occurrences=occ[0] if len(occ) == 1 else tuple(occ),
                            min_gap_ms=args.min_gap, jitter_ms=jitter_ms,
                            target_ms=args.hold + args.fall, n_train=n_train, n_test=n_test,
                            seed=args.seed)


def held_out(args, n, occurrences=None, jitter_ms=0.0):
    """n held-out sequences (the generator's test stream: other seeds, the same pattern)."""
    return make_data(args, 0, n, occurrences=args.test_occurrences if occurrences is None
                     else occurrences, jitter_ms=jitter_ms, duration=args.test_duration)[1]


def pulse_target(ends, rise, hold, fall):
    """Piecewise-linear target: per end e, 0 at e - rise, 1 on [e + rise, e + hold], 0 at e + hold + fall.

    It crosses 0.5 exactly at e. Times strictly increasing (pulses are at least
    min_gap apart), as the Trainer requires.
    """
    t, v = [0.0], [0.0]
    for e in np.sort(np.asarray(ends, np.float64)):
        pts = [e - rise, e + rise, e + hold, e + hold + fall]
        if pts[0] <= t[-1]:
            raise ValueError("target pulses overlap; increase min_gap or shorten the pulse")
        t += pts
        v += [0.0, 1.0, 1.0, 0.0]
    return np.array(t), np.array(v)


def with_target(samples, args):
    """The samples with the pulse target (replacing the generator's step target)."""
    return [s._replace(target=pulse_target(s.meta["ends"], args.rise, args.hold, args.fall))
            for s in samples]


def rate_inside_outside(samples, pattern_ms):
    """Mean input rate (Hz per channel) inside the occurrence windows and outside them."""
    n_in = n_out = t_in = t_out = 0.0
    for s in samples:
        inside = np.zeros(s.times.size, bool)
        for on in s.meta["onsets"]:
            inside |= (s.times >= on) & (s.times < on + pattern_ms)
        n_in += inside.sum()
        n_out += (~inside).sum()
        t_in += pattern_ms * len(s.meta["onsets"])
        t_out += s.duration_ms - pattern_ms * len(s.meta["onsets"])
    C = samples[0].n_channels
    return (1e3 * n_in / (C * t_in) if t_in else float("nan")), 1e3 * n_out / (C * t_out)


# ---------------------------------------------------------------- network

def build(args, times=(), ids=(), params=None):
    """The network; params (from ``trained_params``) or None for the initial ones.

    params: {"W": weights per projection in the order they are made, "v": bucket
    weights and "b": biases per gamma population}. Without a hidden layer the
    inputs reach the read-out through one projection per delay of --delays; with
    --hidden N they reach N hidden neurons through one projection per delay of
    --hidden-delays, the hidden layer reaches the read-out (delay --hidden-out-delay)
    and, with --direct, the inputs reach the read-out as without a hidden layer too.
    """
    delays = floats(args.delays)
    tau = floats(args.out_tau)
    K = len(tau)
    C, H = args.channels, args.hidden
    if params is None:
        rng = np.random.default_rng(args.seed + 1)
        W = []
        if H == 0 or args.direct:
            W += [rng.normal(0.0, args.w_init / np.sqrt(C * len(delays)), (C, 1)) for _ in delays]
        params = {"W": W, "v": {READOUT: np.full(K, args.v_init)}, "b": {READOUT: 0.0}}
        if H:
            hd = floats(args.hidden_delays or args.delays)
            hk = len(floats(args.hidden_tau))
            W_in = [rng.normal(args.hidden_w_mean / (C * len(hd)),
                               args.hidden_w_init / np.sqrt(C * len(hd)), (C, H)) for _ in hd]
            W_out = np.full((H, 1), args.hidden_out_w)
            params["W"] = W_in + [W_out] + params["W"]
            params["v"][HIDDEN] = np.full(hk, args.hidden_v_init)
            params["b"][HIDDEN] = np.full(H, args.hidden_bias)
    W, v, b = params["W"], params["v"], params["b"]
    net = esg.Network(seed=args.seed)
    inp = net.add(esg.SpikeSource(n=C, times=np.asarray(times, float), ids=np.asarray(ids, np.int64),
                                  name=INPUT))
    if H:
        hid = net.add(esg.GammaPopulation(n=H, K=len(floats(args.hidden_tau)),
                                          tau=floats(args.hidden_tau), theta=args.hidden_theta,
                                          v=v[HIDDEN], bias=b[HIDDEN], name=HIDDEN))
    out = net.add(esg.GammaPopulation(n=1, K=K, tau=tau, theta=args.threshold, v=v[READOUT],
                                      bias=b[READOUT], name=READOUT))
    W = list(W)
    if H:
        for d in floats(args.hidden_delays or args.delays):
            net.connect(inp, hid, W.pop(0), delay=d)
        net.connect(hid, out, W.pop(0), delay=args.hidden_out_delay)
    if H == 0 or args.direct:
        for d in delays:
            net.connect(inp, out, W.pop(0), delay=d)
    return net


def trained_params(trainer):
    """The trainer's current parameters in the form ``build`` takes."""
    names = [pop.name for pop in trainer.net.populations if pop.name in (HIDDEN, READOUT)]
    return {"W": [trainer.weights(p).toarray() for p in trainer.net.projections],
            "v": {n: trainer.bucket_weights(n) for n in names},
            "b": {n: trainer.biases(n) for n in names}}


# ---------------------------------------------------------------- detection

def detections(spikes):
    """Detection times from the read-out's spikes (t, a): spikes that take r from 0 to > 0."""
    t, a = np.asarray(spikes.t, float), np.asarray(spikes.a, float)
    r_before = np.cumsum(a) - a
    return t[(a > 0) & (r_before <= 1e-9)]


def run_forward(args, params, sample, grid_ms=None):
    """Forward run of one sample with the given parameters: (detection times, spikes, result)."""
    net = build(args, sample.times, sample.ids, params)
    kw = {}
    if grid_ms:
        kw = {"sample_times": np.arange(0.0, sample.duration_ms, grid_ms), "record": [READOUT]}
    res = net.run(sample.duration_ms, progress=False, **kw)
    sp = res.spikes(READOUT)
    return detections(sp), len(sp), res


def hidden_spikes(res, n):
    """Spikes per hidden neuron (n,) in a forward result (n = 0 without a hidden layer)."""
    if not n:
        return np.zeros(0, np.int64)
    return np.bincount(np.asarray(res.spikes(HIDDEN).i, np.int64), minlength=n)


def score(args, params, samples, grid_ms=None):
    """Detection metrics of the detector ``params`` over ``samples`` (forward engine)."""
    det_all, true_all, spikes, seconds, mse = [], [], 0, 0.0, []
    h_spikes = np.zeros(args.hidden, np.int64)
    offset = 0.0
    for s in samples:
        det, n_sp, res = run_forward(args, params, s, grid_ms)
        det_all.append(det + offset)
        true_all.append(np.asarray(s.meta["ends"]) + offset)
        offset += s.duration_ms + 10 * args.tolerance        # no match across sequences
        spikes += n_sp
        h_spikes += hidden_spikes(res, args.hidden)
        seconds += s.duration_ms * 1e-3
        if grid_ms:
            st = res.state(READOUT)
            tt, tv = pulse_target(s.meta["ends"], args.rise, args.hold, args.fall)
            err = st.x[:, 0] - np.interp(st.t, tt, tv)
            mse.append(float(np.mean(0.5 * err ** 2)))
    det = np.concatenate(det_all)
    true = np.concatenate(true_all)
    sc = detection_scores(det, true, args.tolerance)
    abs_err = np.abs(sc.errors_ms)
    return {"f1": sc.f1, "precision": sc.precision, "recall": sc.recall,
            "median_abs_error_ms": sc.median_abs_error_ms,
            "p90_abs_error_ms": float(np.percentile(abs_err, 90)) if abs_err.size else float("nan"),
            "mean_error_ms": float(np.mean(sc.errors_ms)) if abs_err.size else float("nan"),
            "n_true": sc.n_true, "n_detected": sc.n_detected, "n_matched": sc.n_matched,
            "false_alarms_per_s": (sc.n_detected - sc.n_matched) / seconds,
            "readout_spikes_per_neuron_per_s": spikes / seconds,
            "hidden_spikes_per_neuron_per_s": h_spikes.sum() / (args.hidden * seconds) if args.hidden
            else None,
            "hidden_active": int(np.count_nonzero(h_spikes)) if args.hidden else None,
            "hidden_max_spikes_per_s": h_spikes.max() / seconds if args.hidden else None,
            "loss_grid": float(np.mean(mse)) if mse else float("nan")}


# ---------------------------------------------------------------- figures

def plot_curve(history, path):
    """Loss per epoch (train: the exact online loss; held-out: on a 0.1 ms grid) and held-out
    F1 and median timing error; epoch 0 is the untrained network."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ep = [h["epoch"] for h in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    tr = [h for h in history if h.get("loss") is not None]
    a1.plot([h["epoch"] for h in tr], [h["loss"] for h in tr], "o-", label="train (exact, online)")
    a1.plot(ep, [h["test_loss_grid"] for h in history], "s-", label="held-out (0.1 ms grid)")
    a1.set(xlabel="epoch", ylabel="MSE loss (time average)", yscale="log")
    a1.legend()
    a2.plot(ep, [h["test_f1"] for h in history], "o-", label="held-out F1")
    err = [h["test_median_abs_error_ms"] for h in history]
    a2.plot(ep, err, "s-", label="median |timing error| (ms)")
    a2.axhline(0.95, color="gray", lw=0.8, ls=":")
    a2.set(xlabel="epoch", ylim=(0, max(1.05, np.nanmax(err + [0]) * 1.05)))
    a2.legend()
    for a in (a1, a2):
        a.set_xticks(ep)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_sequence(args, params, sample, path):
    """Input raster with occurrences shaded, x(t) with threshold and target, detections vs truth,
    and a zoom on the first occurrence's end."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    det, _, res = run_forward(args, params, sample, grid_ms=0.05)
    st = res.state(READOUT)
    x = st.x[:, 0]
    tt, tv = pulse_target(sample.meta["ends"], args.rise, args.hold, args.fall)
    ends = np.asarray(sample.meta["ends"])
    fig = plt.figure(figsize=(12, 6.5))
    gs = fig.add_gridspec(2, 2, width_ratios=[4, 1], height_ratios=[2, 1.4])
    a1 = fig.add_subplot(gs[0, :])
    a2 = fig.add_subplot(gs[1, 0], sharex=a1)
    a3 = fig.add_subplot(gs[1, 1])
    for on in sample.meta["onsets"]:
        a1.axvspan(on, on + args.pattern_ms, color="tab:orange", alpha=0.25, lw=0)
        a2.axvspan(on, on + args.pattern_ms, color="tab:orange", alpha=0.15, lw=0)
    a1.plot(sample.times, sample.ids, "|", ms=2.5, color="k")
    a1.set(ylabel="input channel", ylim=(-1, sample.n_channels), xlim=(0, sample.duration_ms),
           title=f"held-out sequence: {ends.size} pattern occurrences (shaded); every channel "
                 f"fires at {args.rate:g} Hz inside and outside them")
    ymax = max(1.2, float(np.max(x))) * 1.08
    for a in (a2, a3):
        a.plot(st.t, x, lw=1, label="read-out signal x(t)")
        a.plot(tt, tv, lw=0.8, color="tab:green", alpha=0.8, label="training target")
        a.axhline(args.threshold, color="tab:red", lw=0.8, ls="--", label="threshold")
        a.plot(ends, np.full(ends.size, ymax * 0.92), "^", color="tab:orange", ms=7,
               label="true pattern ends")
        a.plot(det, np.full(det.size, ymax), "v", color="tab:red", ms=7, label="detections")
        for e in ends:
            a.axvline(e, color="tab:orange", lw=0.8)
        a.set(ylim=(min(-0.3, float(np.min(x)) * 1.1), ymax * 1.08))
    a2.set(xlabel="time (ms)", ylabel="x")
    a3.legend(loc="lower right", fontsize=6.5, framealpha=0.9)
    e0 = ends[0]
    a3.set(xlim=(e0 - 6, e0 + 6), xlabel="time - first end (ms)", title="zoom", yticks=[])
    a3.set_xticks([e0 - 5, e0, e0 + 5], ["-5", "0", "+5"])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------- training

def train(args, train_set, test_set, progress=False, log=print):
    """Train online; returns (trainer, history, training seconds).

    With test_set, history starts with epoch 0 (the untrained network) and holds the
    held-out scores after each epoch.
    """
    samples = with_target(train_set, args)
    trainer = Trainer(build(args), INPUT, READOUT, loss="mse", optimizer=args.optimizer, lr=args.lr)
    # type the kernels on a tiny sample without updates (JIT time stays out of the throughput)
    trainer.run_sample(np.zeros(0), np.zeros(0, np.int64), 1.0, update=False, record_spikes=False,
                       target=(np.array([0.0]), np.array([0.0])))
    rng = np.random.default_rng(args.seed)
    history, train_s = [], 0.0
    if test_set is not None:
        m = score(args, trained_params(trainer), test_set, grid_ms=0.1)
        history.append({"epoch": 0, "loss": None, **{"test_" + k: v for k, v in m.items()}})
        log(f"untrained: held-out loss {m['loss_grid']:.4g} F1 {m['f1']:.3f} ({m['n_detected']} "
            f"detections of {m['n_true']} occurrences)")
    for epoch in range(args.epochs):
        trainer.lr = args.lr * args.lr_decay ** epoch
        t0 = time.perf_counter()
        rec = evaluate(trainer, samples, update=True, order=rng.permutation(len(samples)),
                       progress=progress, desc=f"epoch {epoch + 1}/{args.epochs}")
        train_s += time.perf_counter() - t0
        rec = {"epoch": epoch + 1, "loss": rec["loss"],
               "readout_rate_hz": rec["rate_hz"][READOUT], "lr": trainer.lr,
               "train_seconds": time.perf_counter() - t0,
               **({"hidden_rate_hz": rec["rate_hz"][HIDDEN]} if args.hidden else {})}
        if test_set is not None:
            m = score(args, trained_params(trainer), test_set, grid_ms=0.1)
            rec.update({"test_" + k: v for k, v in m.items()})
            log(f"epoch {epoch + 1:2d}: loss {rec['loss']:.4g} | held-out loss {m['loss_grid']:.4g} "
                f"F1 {m['f1']:.3f} (P {m['precision']:.3f} R {m['recall']:.3f}) "
                f"median |err| {m['median_abs_error_ms']:.2f} ms | "
                f"{len(samples) / rec['train_seconds']:.2f} samples/s" + hidden_note(rec, m))
        else:
            log(f"epoch {epoch + 1:2d}: loss {rec['loss']:.4g}" + hidden_note(rec))
        history.append(rec)
    return trainer, history, train_s


def hidden_note(rec, m=None):
    """The hidden layer's spikes per neuron per second in an epoch's log line ("" without one)."""
    if "hidden_rate_hz" not in rec:
        return ""
    note = f" | hidden {rec['hidden_rate_hz']:.2f} spikes/neuron/s (training"
    if m is not None:
        note += f", {m['hidden_spikes_per_neuron_per_s']:.2f} held-out"
    return note + ")"


def parse_args(argv=None):
    """The settings (defaults: the full task; --quick: a smoke run)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="a fast smoke run: 20 training sequences of 300 ms, 2 epochs, 10 held-out "
                   "sequences of 500 ms (overrides those four settings)")
    p.add_argument("--train", type=int, default=200, help="training sequences")
    p.add_argument("--test", type=int, default=100, help="held-out sequences")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--duration", type=float, default=500.0, help="sequence length (ms)")
    p.add_argument("--occurrences", default="1,3", help="occurrences per sequence: n or lo,hi")
    p.add_argument("--channels", type=int, default=100)
    p.add_argument("--rate", type=float, default=40.0, help="background rate (Hz)")
    p.add_argument("--pattern-ms", type=float, default=50.0)
    p.add_argument("--spikes-per-channel", type=int, default=2,
                   help="pattern spikes per channel (2 at 40 Hz: the background's rate; 0: a "
                   "Poisson count at the rate, as Masquelier et al.)")
    p.add_argument("--pattern-fraction", type=float, default=1.0,
                   help="share of the channels in the pattern (the others keep their background)")
    p.add_argument("--min-gap", type=float, default=50.0, help="least gap between occurrences (ms)")
    p.add_argument("--delays", default="0,10,20,30,40,50", help="delays of the input projections (ms)")
    p.add_argument("--out-tau", default="3,3", help="read-out bucket time constants (ms)")
    p.add_argument("--v-init", type=float, default=0.5, help="initial read-out bucket weights")
    p.add_argument("--w-init", type=float, default=1.0, help="initial weight scale")
    p.add_argument("--threshold", type=float, default=0.5, help="detection threshold = read-out theta")
    p.add_argument("--hidden", type=int, default=0,
                   help="hidden SpikingGamma neurons between inputs and read-out (0: none)")
    p.add_argument("--hidden-delays", default=None,
                   help="delays of the input -> hidden projections (ms; default --delays)")
    p.add_argument("--hidden-tau", default="3,3", help="hidden bucket time constants (ms)")
    p.add_argument("--hidden-theta", type=float, default=1.0, help="hidden threshold theta")
    p.add_argument("--hidden-bias", type=float, default=-0.2, help="initial hidden biases")
    p.add_argument("--hidden-v-init", type=float, default=0.5, help="initial hidden bucket weights")
    p.add_argument("--hidden-w-init", type=float, default=1.0,
                   help="initial input -> hidden weight scale (sd times sqrt(fan-in))")
    p.add_argument("--hidden-w-mean", type=float, default=0.0,
                   help="initial input -> hidden weight mean times the fan-in")
    p.add_argument("--hidden-out-w", type=float, default=2.0,
                   help="initial hidden -> read-out weights (all equal)")
    p.add_argument("--hidden-out-delay", type=float, default=0.0,
                   help="delay of the hidden -> read-out projection (ms)")
    p.add_argument("--direct", action="store_true",
                   help="with --hidden: keep the input -> read-out projections too")
    p.add_argument("--rise", type=float, default=2.0, help="target: 0 at end - rise, 1 at end + rise")
    p.add_argument("--hold", type=float, default=8.0, help="target: 1 until end + hold (ms)")
    p.add_argument("--fall", type=float, default=4.0, help="target: back to 0 at end + hold + fall")
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--lr-decay", type=float, default=0.7, help="lr factor per epoch")
    p.add_argument("--tolerance", type=float, default=10.0, help="matching tolerance (ms)")
    p.add_argument("--test-duration", type=float, default=1000.0, help="held-out sequence length (ms)")
    p.add_argument("--test-occurrences", default="2,5", help="occurrences per held-out sequence")
    p.add_argument("--jitter", default="1,2,5,10,20",
                   help="controls: Gaussian jitter (sd, ms) of the pattern spikes, comma-separated")
    p.add_argument("--control", type=int, default=None, help="sequences per control (default --test)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--progress", action="store_true", help="progress bars")
    p.add_argument("--out", default="bench-results", help="output directory")
    args = p.parse_args(argv)
    if args.quick:
        args.train, args.test, args.epochs, args.duration, args.test_duration = 20, 10, 2, 300.0, 500.0
    return args


def network_summary(args):
    """One line describing the network."""
    if not args.hidden:
        return (f"network: {args.channels} inputs -> 1 read-out neuron "
                f"(K = {len(floats(args.out_tau))}, tau {args.out_tau} ms) through delays "
                f"{args.delays} ms; no hidden layer")
    out = (f"1 read-out neuron (K = {len(floats(args.out_tau))}, tau {args.out_tau} ms, "
           f"theta {args.threshold:g})")
    text = (f"network: {args.channels} inputs -> {args.hidden} hidden neurons (K = "
            f"{len(floats(args.hidden_tau))}, tau {args.hidden_tau} ms, theta {args.hidden_theta:g}) "
            f"through delays {args.hidden_delays or args.delays} ms -> {out} through delay "
            f"{args.hidden_out_delay:g} ms")
    if args.direct:
        text += f"; also inputs -> read-out through delays {args.delays} ms"
    return text + "; all trained"


def controls(args, params, n):
    """The trained detector on sequences without the pattern and with the pattern jittered."""
    noise = score(args, params, held_out(args, n, occurrences="0"))
    jitter = {j: score(args, params, held_out(args, n, jitter_ms=j)) for j in floats(args.jitter)}
    return noise, jitter


def main(argv=None):
    args = parse_args(argv)
    n_control = args.test if args.control is None else args.control
    wall0 = time.perf_counter()

    train_set = make_data(args, args.train, 0)[0]
    test_set = held_out(args, args.test)
    r_in, r_out = rate_inside_outside(list(train_set) + list(test_set), args.pattern_ms)
    n_pat = len(train_set.meta["pattern_times"])
    print(f"task: {args.channels} channels, {args.rate:g} Hz Poisson, a pattern of "
          f"{args.pattern_ms:g} ms with {n_pat} spikes on {len(train_set.meta['pattern_channels'])} "
          f"channels; "
          f"{args.train} training sequences of {args.duration:g} ms ({args.occurrences} "
          f"occurrences), {args.test} held-out sequences of {args.test_duration:g} ms "
          f"({args.test_occurrences} occurrences)")
    print(f"input rate inside the occurrences {r_in:.2f} Hz, outside {r_out:.2f} Hz")
    print(network_summary(args))
    trainer, history, train_s = train(args, train_set, test_set, progress=args.progress)
    untrained = {k[5:]: v for k, v in history[0].items() if k.startswith("test_")}
    params = trained_params(trainer)
    samples_per_s = args.epochs * args.train / train_s

    t0 = time.perf_counter()
    final = score(args, params, test_set)
    eval_s = time.perf_counter() - t0
    noise, jitter = controls(args, params, n_control)
    wall = time.perf_counter() - wall0

    print(f"\nheld-out: {args.test} sequences, {final['n_true']} occurrences, matching tolerance "
          f"{args.tolerance:g} ms")
    print(f"  F1 {final['f1']:.4f}  precision {final['precision']:.4f}  recall {final['recall']:.4f}"
          f"  ({final['n_matched']} matched, {final['n_detected']} detections)")
    print(f"  timing error |detection - end|: median {final['median_abs_error_ms']:.3f} ms, "
          f"p90 {final['p90_abs_error_ms']:.3f} ms (mean signed {final['mean_error_ms']:+.3f} ms)")
    print(f"  false alarms {final['false_alarms_per_s']:.3f} per s")
    print(f"control, no pattern ({n_control} sequences, {n_control * args.test_duration / 1e3:g} s): "
          f"{noise['n_detected']} detections = {noise['false_alarms_per_s']:.3f} false alarms per s")
    for j, m in jitter.items():
        print(f"control, pattern spikes jittered (sd {j:g} ms): F1 {m['f1']:.3f} "
              f"(recall {m['recall']:.3f}, median |err| {m['median_abs_error_ms']:.2f} ms)")
    if args.hidden:
        print(f"spikes per neuron per second: hidden {final['hidden_spikes_per_neuron_per_s']:.2f} "
              f"(held-out; {history[-1]['hidden_rate_hz']:.2f} in the last training epoch; "
              f"{final['hidden_active']} of {args.hidden} neurons spiked on held-out, the most "
              f"active {final['hidden_max_spikes_per_s']:.2f}), read-out "
              f"{final['readout_spikes_per_neuron_per_s']:.2f} (held-out), inputs {args.rate:g}")
    else:
        print(f"spikes per neuron per second: no hidden layer; read-out "
              f"{final['readout_spikes_per_neuron_per_s']:.2f} (held-out), inputs {args.rate:g}")
    print(f"throughput: {samples_per_s:.2f} training samples/s ({args.duration:g} ms each; "
          f"{args.epochs * args.train} samples in {train_s:.1f} s), held-out evaluation with the "
          f"forward engine {args.test / eval_s:.1f} samples/s ({args.test_duration:g} ms each)")
    print(f"wall time {wall:.1f} s")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_curve(history, out / "temporal_pattern_learning_curve.png")
    plot_sequence(args, params, test_set[0], out / "temporal_pattern_sequence.png")
    metrics = {"f1": final["f1"], "precision": final["precision"], "recall": final["recall"],
               "median_abs_error_ms": final["median_abs_error_ms"],
               "p90_abs_error_ms": final["p90_abs_error_ms"], "mean_error_ms": final["mean_error_ms"],
               "false_alarms_per_s": final["false_alarms_per_s"], "n_true": final["n_true"],
               "n_detected": final["n_detected"], "n_matched": final["n_matched"],
               "untrained_f1": untrained["f1"],
               "control_no_pattern_false_alarms_per_s": noise["false_alarms_per_s"]}
    metrics.update({f"control_jitter_{j:g}ms_f1": m["f1"] for j, m in jitter.items()})
    metrics.update({"hidden_layer": bool(args.hidden), "hidden_neurons": args.hidden,
                    "hidden_spikes_per_neuron_per_s": final["hidden_spikes_per_neuron_per_s"],
                    "hidden_spikes_per_neuron_per_s_train_last_epoch":
                        history[-1].get("hidden_rate_hz") if args.hidden else None,
                    "hidden_active_neurons": final["hidden_active"],
                    "hidden_max_spikes_per_neuron_per_s": final["hidden_max_spikes_per_s"],
                    "readout_spikes_per_neuron_per_s": final["readout_spikes_per_neuron_per_s"],
                    "input_rate_hz": args.rate, "input_rate_inside_hz": r_in,
                    "input_rate_outside_hz": r_out, "train_samples_per_s": samples_per_s,
                    "eval_samples_per_s": args.test / eval_s, "train_seconds": train_s,
                    "wall_seconds": wall,
                    "target_met": bool(final["f1"] >= 0.95 and final["median_abs_error_ms"] < 2.0)})
    with open(out / "temporal_pattern_metrics.json", "w") as f:
        json.dump({"metrics": metrics, "settings": vars(args), "history": history}, f, indent=1)
    with open(out / "temporal_pattern_metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "value"])
        for k, v in metrics.items():
            w.writerow([k, v])
    print(f"saved {out / 'temporal_pattern_learning_curve.png'}, "
          f"{out / 'temporal_pattern_sequence.png'}, {out / 'temporal_pattern_metrics.json'}, "
          f"{out / 'temporal_pattern_metrics.csv'}")
    return metrics


if __name__ == "__main__":
    main()

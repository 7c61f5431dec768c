"""Randman: spike-timing classification learned online (no surrogate gradient, no BPTT).

10 classes, 20 input channels, one spike per channel per sample (continuous times
in [0, 50] ms), manifold dimension 1; 1000 training and 500 test samples
(Zenke and Vogels 2021). Default network (no hidden layer): the inputs reach 10
read-out neurons (K = 2, tau = 2, 4 ms) through 11 projections with delays
0, 5, ..., 50 ms, so each (channel, class) pair has one weight per delay: the
read-out integral over the window [50, 60] ms is a learned function of every
channel's spike time (a sum of shifted bumps). Cross-entropy of the read-out
signals over that window, updates at events (docs/learning.md) with SGD
(lr 0.3, times 0.8 after each epoch); read-out theta = 100 (its spikes are not
used, so it stays silent). --hidden N adds a hidden SpikingGamma layer fed
through the same delays (much slower).

    python scripts/train_randman.py                      # the full task, 5 epochs
    python scripts/train_randman.py --train 300 --test 200 --epochs 3   # quicker

Prints per-epoch loss, accuracy (train and test), spikes per neuron per second of
each gamma population, the throughput (samples/s, training and evaluation), and
saves the learning curve.
"""
import argparse
import time
from pathlib import Path

import numpy as np

import eventsg as esg
from eventsg.datasets import randman
from eventsg.training import Trainer, fit, plot_learning_curve


def floats(text):
    return [float(x) for x in text.split(",") if x.strip()]


def build(args, n_channels=20, n_classes=10):
    rng = np.random.default_rng(args.seed)
    net = esg.Network(seed=args.seed)
    inp = net.add(esg.SpikeSource(n=n_channels, times=[], ids=[], name="input"))
    delays = floats(args.delays)
    out_tau = floats(args.out_tau)
    Ko = len(out_tau)
    v_out = rng.normal(args.v_mean, args.v_std, (n_classes, Ko)) if args.v_std > 0 else \
        np.full(Ko, args.v_mean)
    out = net.add(esg.GammaPopulation(n=n_classes, K=Ko, tau=out_tau, theta=args.out_theta,
                                      v=v_out, name="readout"))
    if args.hidden > 0:
        hid_tau = floats(args.hid_tau)
        Kh = len(hid_tau)
        hid = net.add(esg.GammaPopulation(n=args.hidden, K=Kh, tau=hid_tau, theta=args.theta,
                                          v=rng.normal(args.hid_v_mean, args.hid_v_std,
                                                       (args.hidden, Kh)),
                                          bias=args.hid_bias, name="hidden"))
        for d in delays:
            net.connect(inp, hid, rng.normal(0.0, args.w_in / np.sqrt(n_channels),
                                             (n_channels, args.hidden)), delay=d)
        net.connect(hid, out, rng.normal(0.0, args.w_out / np.sqrt(args.hidden),
                                         (args.hidden, n_classes)))
        if args.skip:
            for d in delays:
                net.connect(inp, out, rng.normal(0.0, args.w_out / np.sqrt(n_channels),
                                                 (n_channels, n_classes)), delay=d)
    else:
        for d in delays:
            net.connect(inp, out, rng.normal(0.0, args.w_out / np.sqrt(n_channels * len(delays)),
                                             (n_channels, n_classes)), delay=d)
    return net


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=int, default=1000)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--hidden", type=int, default=0, help="hidden neurons (0: none)")
    p.add_argument("--theta", type=float, default=0.05, help="hidden threshold")
    p.add_argument("--lr", type=float, default=0.3)
    p.add_argument("--lr-decay", type=float, default=0.8, help="lr factor per epoch")
    p.add_argument("--optimizer", default="sgd", choices=["adam", "sgd"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--delays", default="0,5,10,15,20,25,30,35,40,45,50",
                   help="delays (ms) of the input projections, one projection each")
    p.add_argument("--out-tau", default="2,4", help="read-out bucket time constants (ms)")
    p.add_argument("--out-theta", type=float, default=100.0, help="read-out threshold")
    p.add_argument("--hid-tau", default="2,4,8,16", help="hidden bucket time constants (ms)")
    p.add_argument("--hid-bias", type=float, default=0.0)
    p.add_argument("--hid-v-mean", type=float, default=0.25)
    p.add_argument("--hid-v-std", type=float, default=0.15)
    p.add_argument("--v-mean", type=float, default=0.5, help="read-out initial v (mean)")
    p.add_argument("--v-std", type=float, default=0.0, help="read-out initial v (spread)")
    p.add_argument("--w-in", type=float, default=4.0, help="input -> hidden weight scale")
    p.add_argument("--w-out", type=float, default=1.0, help="weight scale into the read-out")
    p.add_argument("--skip", action="store_true", help="with --hidden: also input -> read-out")
    p.add_argument("--duration", type=float, default=60.0, help="sample length (ms)")
    p.add_argument("--window", default="50,60", help="read-out window t_a,t_b (ms)")
    p.add_argument("--out", default="figures", help="directory for the learning curve")
    args = p.parse_args()

    train, test = randman(n_classes=10, n_channels=20, n_train=args.train, n_test=args.test,
                          dim_manifold=1, duration_ms=50.0, seed=args.seed)
    samples = [s._replace(duration_ms=args.duration) for s in train]
    held_out = [s._replace(duration_ms=args.duration) for s in test]
    net = build(args)
    trainer = Trainer(net, "input", "readout", loss="ce", optimizer=args.optimizer, lr=args.lr,
                      window=tuple(floats(args.window)))
    t0 = time.perf_counter()
    history = fit(trainer, samples, epochs=args.epochs, seed=args.seed, test=held_out,
                  progress=False, lr_decay=args.lr_decay)
    for h in history:
        rates = ", ".join(f"{k} {v:.1f} Hz" for k, v in h["rate_hz"].items())
        print(f"epoch {h['epoch']:2d}: loss {h['loss']:.3f} acc {h['accuracy']:.3f} | test loss "
              f"{h['test_loss']:.3f} acc {h['test_accuracy']:.3f} | {rates}")
    seconds = time.perf_counter() - t0
    n_runs = args.epochs * (len(samples) + len(held_out))
    print(f"{n_runs} samples in {seconds:.1f} s: {n_runs / seconds:.1f} samples/s "
          f"(training and evaluation)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_learning_curve(history, out / "randman_learning_curve.png")
    print(f"saved {out / 'randman_learning_curve.png'}")


if __name__ == "__main__":
    main()

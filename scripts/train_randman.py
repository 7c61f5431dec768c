"""Randman: spike-timing classification learned online (no surrogate gradient, no BPTT).

10 classes, 20 input channels, one spike per channel per sample (continuous times
in [0, 50] ms), manifold dimension 1; 1000 training and 500 test samples
(Zenke and Vogels 2021). Network: inputs -> hidden SpikingGamma layer -> 10
read-out neurons; cross-entropy of the read-out signals over a window, updates
at events (docs/learning.md) with Adam.

    python scripts/train_randman.py                      # the full task
    python scripts/train_randman.py --train 200 --test 100 --epochs 2   # quicker

Prints per-epoch loss, accuracy and hidden spikes per neuron per second, the
training throughput (samples/s), and saves the learning curve.
"""
import argparse
import time
from pathlib import Path

import numpy as np

import eventsg as esg
from eventsg.datasets import randman
from eventsg.training import Trainer, fit, plot_learning_curve


def build(n_channels, n_hidden, n_classes, seed, theta):
    rng = np.random.default_rng(seed)
    net = esg.Network(seed=seed)
    inp = net.add(esg.SpikeSource(n=n_channels, times=[], ids=[], name="input"))
    hid = net.add(esg.GammaPopulation(n=n_hidden, K=4, tau=[2.0, 4.0, 8.0, 16.0], theta=theta,
                                      v=rng.normal(0.25, 0.15, (n_hidden, 4)), name="hidden"))
    out = net.add(esg.GammaPopulation(n=n_classes, K=2, tau=[4.0, 8.0], theta=theta,
                                      name="readout"))
    net.connect(inp, hid, rng.normal(0.0, 1.0 / np.sqrt(n_channels), (n_channels, n_hidden)) * 4.0)
    net.connect(hid, out, rng.normal(0.0, 1.0 / np.sqrt(n_hidden), (n_hidden, n_classes)))
    return net


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=int, default=1000)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--theta", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="figures", help="directory for the learning curve")
    args = p.parse_args()

    train, test = randman(n_classes=10, n_channels=20, n_train=args.train, n_test=args.test,
                          dim_manifold=1, duration_ms=50.0, seed=args.seed)
    samples = [s._replace(duration_ms=70.0) for s in train]
    held_out = [s._replace(duration_ms=70.0) for s in test]
    net = build(20, args.hidden, 10, args.seed, args.theta)
    trainer = Trainer(net, "input", "readout", loss="ce", optimizer="adam", lr=args.lr,
                      window=(20.0, 70.0))
    t0 = time.perf_counter()
    history = fit(trainer, samples, epochs=args.epochs, seed=args.seed, test=held_out)
    seconds = time.perf_counter() - t0
    for h in history:
        print(f"epoch {h['epoch']:2d}: loss {h['loss']:.3f} acc {h['accuracy']:.3f} | test loss "
              f"{h['test_loss']:.3f} acc {h['test_accuracy']:.3f} | hidden "
              f"{h['rate_hz']['hidden']:.1f} Hz, readout {h['rate_hz']['readout']:.1f} Hz")
    n_runs = args.epochs * (len(samples) + len(held_out))
    print(f"{n_runs} samples in {seconds:.1f} s: {n_runs / seconds:.1f} samples/s "
          f"(training and evaluation)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_learning_curve(history, out / "randman_learning_curve.png")
    print(f"saved {out / 'randman_learning_curve.png'}")


if __name__ == "__main__":
    main()

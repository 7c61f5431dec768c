"""Training benchmark: eventsg's online rule against snnTorch (surrogate gradient, BPTT), Randman.

    python scripts/bench_training.py [--epochs 5] [--dts 1,0.1] [--quick] [--out bench-results]

Task: the Randman data of scripts/configs/randman.toml (10 classes, 20 channels,
one spike per channel in [0, 50] ms, 1000 training and 500 test samples, seed 0,
60 ms per sample); both sides get the same samples (eventsg.training's
load_training_data on that config).

* eventsg: that config exactly (read-out only, 11 delayed projections, CE over
  the window [50, 60] ms, SGD lr 0.3 times 0.8 per epoch), trained with
  eventsg.training.fit, one sample at a time, updates at events.
* snnTorch (scripts/peers/snntorch_randman.py): spike times binned on a grid of
  dt ms (--dts), 20 -> LIF hidden layer -> leaky-integrator read-out, max over
  time, cross-entropy, Adam on minibatches, BPTT; torch with --threads threads.
  Its throughput is also measured with minibatches of one sample (training one
  sample at a time, as eventsg does) on --online-samples samples.

Every configuration runs in a fresh process, after a warm-up (eventsg: one
sample, which compiles or loads the kernels; snnTorch: a step of 2 samples x 2
time steps), so that its peak memory is its own. Peak memory = the peak
resident set size during the measured part above the resident size at its
start (Linux: the high-water mark is reset through /proc/self/clear_refs; where
that is refused, growth above the earlier high-water mark only). tracemalloc
does not see torch's tensors, so snnTorch's graph memory is also counted
exactly: the bytes of the distinct storages that autograd holds for the
backward pass when the forward pass ends (an extra forward pass after the timed
step); for eventsg, the peak of Python/numpy allocations (tracemalloc) of a step.

Memory against sample length: one training step (eventsg: one sample; snnTorch:
one minibatch) with samples 1x and --stretch x as long: every spike time, the
duration and eventsg's read-out window are multiplied by the factor (the same
spikes, spread over a longer time: eventsg processes as many events, snnTorch
runs --stretch x as many time steps).

Times are wall seconds (time.perf_counter) and CPU seconds of the measuring
process (time.process_time; both sides run single-threaded); on a machine shared
with other work the CPU seconds are the fairer measure, and the ratios use them
(with the wall-time ratio of training beside them).

Tables (printed as markdown, and written as CSV to --out): training.csv
(accuracy, seconds per epoch, samples per second, peak memory per
configuration), training_epochs.csv (test accuracy and training CPU seconds per
epoch), training_memory.csv (one step, 1x and stretched) and training_ratios.csv.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import report                                              # noqa: E402
from peers.snntorch_randman import clock, snntorch_status             # noqa: E402

CONFIG = Path(__file__).resolve().parent / "configs" / "randman.toml"
QUICK = dict(n_train=64, n_test=32, epochs=1, online=8)


# -- memory --------------------------------------------------------------------------------
def _status_kb(key):
    """A line of /proc/self/status in kB (VmRSS: resident now, VmHWM: its peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


class PeakRSS:
    """Context: ``mb`` = peak resident memory (MB) in the block above the resident size at entry."""

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")                                   # reset the high-water mark
            self.base_kb = _status_kb("VmRSS")
        except OSError:
            self.base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return self

    def __exit__(self, *exc):
        self.resident_mb = self.base_kb / 1024
        self.mb = max(_status_kb("VmHWM") - self.base_kb, 0) / 1024


# -- data ----------------------------------------------------------------------------------
def randman_data(job):
    """(config, train, test): the config's Randman samples, cut to job's n_train / n_test."""
    from eventsg.io.config import load_config
    from eventsg.training import load_training_data
    cfg = load_config(job["config"])
    train, test = load_training_data(cfg.train, cfg.build()[1]["duration"])
    return cfg, train[:job["n_train"]], test[:job["n_test"]]


def stretched(sample, factor):
    """The sample with every spike time and its duration multiplied by ``factor``."""
    return sample._replace(times=sample.times * factor, duration_ms=sample.duration_ms * factor)


# -- eventsg -------------------------------------------------------------------------------
def make_trainer(cfg, factor=1.0):
    """A Trainer of the config's network; its read-out window scaled by ``factor``."""
    from eventsg.training import Trainer
    spec = cfg.train
    net = cfg.build()[0]
    window = None if spec.window is None else tuple(factor * t for t in spec.window)
    return Trainer(net, spec.inputs, spec.readout, loss=spec.loss, optimizer=spec.optimizer,
                   lr=spec.lr, window=window)


def warm_up(trainer, sample):
    """One sample without updates: compiles or loads the kernels; parameters unchanged."""
    trainer.run_sample(sample.times, sample.ids, sample.duration_ms, label=sample.label,
                       update=False)


def timed(run_sample, log):
    """run_sample that appends (update flag, (wall s, CPU s)) of each call to ``log``."""
    def run(*args, update=True, **kwargs):
        t0 = clock()
        out = run_sample(*args, update=update, **kwargs)
        log.append((update, clock() - t0))
        return out
    return run


def ours_train(job):
    """Train the config with eventsg.training.fit; per-epoch history with seconds and memory."""
    from eventsg.training import fit
    cfg, train, test = randman_data(job)
    trainer = make_trainer(cfg)
    warm_up(trainer, train[0])
    log = []
    trainer.run_sample = timed(trainer.run_sample, log)
    with PeakRSS() as mem:
        history = fit(trainer, train, epochs=job["epochs"], seed=cfg.train.seed, test=test,
                      progress=False, lr_decay=cfg.train.lr_decay)
    per = len(train) + len(test)
    for e, h in enumerate(history):
        calls = log[e * per:(e + 1) * per]
        h["train_s"], h["train_cpu_s"] = sum(s for upd, s in calls if upd)
        h["test_s"], h["test_cpu_s"] = sum(s for upd, s in calls if not upd)
        h.pop("rate_hz", None)
        h.pop("test_rate_hz", None)
    return dict(history=history, peak_mb=mem.mb, resident_mb=mem.resident_mb,
                n_train=len(train), n_test=len(test))


def ours_step(job):
    """Seconds and memory of one training sample, stretched by job's factor."""
    cfg, train, _ = randman_data(job)
    trainer = make_trainer(cfg, job["factor"])
    warm_up(trainer, stretched(train[0], job["factor"]))
    s = stretched(train[1], job["factor"])
    tracemalloc.start()
    with PeakRSS() as mem:
        t0 = clock()
        trainer.run_sample(s.times, s.ids, s.duration_ms, label=s.label, update=True)
        step_s = clock() - t0
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return dict(step_s=step_s[0], step_cpu_s=step_s[1], peak_mb=mem.mb,
                resident_mb=mem.resident_mb, graph_mb=traced / 1e6, steps=0,
                duration_ms=s.duration_ms)


# -- snnTorch ------------------------------------------------------------------------------
def torch_setup(job):
    """(config, train, test, settings, peer module, n_out): torch set to job's threads and
    warmed up on a tiny step."""
    import torch

    from peers import snntorch_randman as peer
    torch.set_num_threads(job["threads"])
    cfg, train, test = randman_data(job)
    settings = peer.Settings(**job["settings"])
    n_in, n_out = train[0].n_channels, dict(cfg.train.data)["n_classes"]
    model = peer.build_model(n_in, n_out, job["dt"], settings)
    peer.train_step(model, peer.adam(model, settings), torch.zeros(2, 2, n_in),
                    torch.zeros(2, dtype=torch.int64))
    return cfg, train, test, settings, peer, n_out


def torch_train(job):
    """Train the snnTorch peer; per-epoch history with seconds and memory."""
    cfg, train, test, settings, peer, n_out = torch_setup(job)
    duration = cfg.build()[1]["duration"]
    bins = [peer.SpikeBins(d, d[0].n_channels, duration, job["dt"]) for d in (train, test)]
    with PeakRSS() as mem:
        history = peer.train(*bins, n_out, job["dt"], job["epochs"], settings)
    return dict(history=history, peak_mb=mem.mb, resident_mb=mem.resident_mb,
                n_train=len(train), n_test=len(test), steps=bins[0].n_steps)


def torch_step(job):
    """Seconds, memory and autograd graph size of one minibatch step, stretched by job's factor."""
    cfg, train, _, settings, peer, n_out = torch_setup(job)
    duration = cfg.build()[1]["duration"] * job["factor"]
    n_in = train[0].n_channels
    bins = peer.SpikeBins(train[:settings.batch], n_in, duration, job["dt"], job["factor"])
    model = peer.build_model(n_in, n_out, job["dt"], settings)
    opt = peer.adam(model, settings)
    x, y = bins.batch(range(len(bins)))
    with PeakRSS() as mem:
        t0 = clock()
        peer.train_step(model, opt, x, y)
        step_s = clock() - t0
    return dict(step_s=step_s[0], step_cpu_s=step_s[1], peak_mb=mem.mb,
                resident_mb=mem.resident_mb, graph_mb=peer.graph_bytes(model, x, y) / 1e6,
                steps=bins.n_steps, duration_ms=duration)


WORKERS = dict(ours_train=ours_train, ours_step=ours_step, torch_train=torch_train,
               torch_step=torch_step)


def run_worker(job):
    """Run one job in a fresh Python process; returns its result dict."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- tables --------------------------------------------------------------------------------
def markdown(title, rows, name, out_dir):
    """Print rows (dicts with the same keys) as a markdown table and write them as CSV."""
    keys = list(rows[0])
    print(f"\n{title}\n")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(report._fmt(r[k]) for k in keys) + " |")
    print(f"  -> {report.write_csv(out_dir, name, rows)}")


def summary_row(label, dt, steps, batch, res):
    """One row of training.csv from a training result (seconds: mean per epoch)."""
    h = res["history"]
    mean = {k: sum(e[k] for e in h) / len(h) for k in ("train_s", "train_cpu_s", "test_cpu_s")}
    return dict(system=label, dt_ms=dt, steps=steps, batch=batch, epochs=len(h),
                test_acc=h[-1]["test_accuracy"], best_test_acc=max(e["test_accuracy"] for e in h),
                train_s=mean["train_s"], train_cpu_s=mean["train_cpu_s"],
                train_per_s=res["n_train"] / mean["train_s"],
                train_per_cpu_s=res["n_train"] / mean["train_cpu_s"],
                test_per_cpu_s=res["n_test"] / mean["test_cpu_s"], peak_mb=res["peak_mb"],
                resident_mb=res["resident_mb"])


def epoch_rows(runs):
    """training_epochs.csv: per epoch, each run's test accuracy and training seconds."""
    n = max(len(res["history"]) for _, res in runs)
    rows = []
    for e in range(n):
        row = dict(epoch=e + 1)
        for label, res in runs:
            h = res["history"][e] if e < len(res["history"]) else None
            row[f"{label} test acc"] = h["test_accuracy"] if h else float("nan")
            row[f"{label} train CPU s"] = h["train_cpu_s"] if h else float("nan")
        rows.append(row)
    return rows


# -- main ----------------------------------------------------------------------------------
def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="default: the config's (5)")
    p.add_argument("--torch-epochs", type=int, default=None, help="snnTorch's (default: --epochs)")
    p.add_argument("--dts", default="1,0.1", help="snnTorch time steps, ms")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--batch", type=int, default=32, help="snnTorch minibatch size")
    p.add_argument("--lr", type=float, default=1e-2, help="snnTorch Adam learning rate")
    p.add_argument("--hidden", type=int, default=128, help="snnTorch hidden LIF neurons")
    p.add_argument("--online-samples", type=int, default=200,
                   help="samples of the snnTorch batch-1 throughput run (0: none)")
    p.add_argument("--stretch", type=float, default=10.0, help="sample length factor (memory)")
    p.add_argument("--config", default=str(CONFIG))
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK['n_train']} / {QUICK['n_test']} samples, 1 epoch (smoke test)")
    p.add_argument("--out", default="bench-results")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    if args.worker:
        job = json.loads(args.worker)
        print(json.dumps(WORKERS[job.pop("kind")](job)))
        return
    ok, versions = snntorch_status()
    if not ok:
        sys.exit(f"snntorch does not import here ({versions}); pip install torch==2.13.0 snntorch")
    dts = [float(x) for x in args.dts.split(",")]
    n = (QUICK["n_train"], QUICK["n_test"]) if args.quick else (10 ** 9, 10 ** 9)
    base = dict(config=args.config, n_train=n[0], n_test=n[1])
    tjob = dict(base, threads=args.threads,
                settings=dict(batch=args.batch, lr=args.lr, hidden=args.hidden))
    print(f"{report.now()}; {report.machine()}; {versions}; load average at start "
          f"{os.getloadavg()[0]:.2f}")

    rows, runs, throughput = training_runs(args, base, tjob, dts)
    markdown(f"Randman training: eventsg vs snnTorch ({versions}); seconds per epoch (wall, "
             "CPU), training samples per second (wall, CPU), test samples per CPU second; "
             "peak_mb = peak resident memory above the start of training (MB)", rows,
             "training.csv", args.out)
    markdown("Test accuracy and training CPU seconds per epoch", epoch_rows(runs),
             "training_epochs.csv", args.out)
    mem = memory_rows(base, tjob, dts, args.stretch)
    markdown(f"One training step, samples 1x and {args.stretch:g}x as long (graph_mb: snnTorch's "
             "autograd saved tensors; eventsg's tracemalloc peak)", mem, "training_memory.csv",
             args.out)
    markdown(f"Ratios (speed: our samples per CPU second / snnTorch's, or per wall second; "
             f"growth: step memory at {args.stretch:g}x length / at 1x)",
             ratio_rows(rows, throughput, mem, args.stretch), "training_ratios.csv", args.out)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (2-core machine: > 2 means "
          "the runs shared the cores)")


def training_runs(args, base, tjob, dts):
    """(summary rows, [(label, result)], {dt: snnTorch batch-1 samples per CPU s}), one process
    each."""
    from eventsg.io.config import load_config
    epochs = args.epochs or (QUICK["epochs"] if args.quick else
                             load_config(args.config).train.epochs)
    online = min(args.online_samples, QUICK["online"]) if args.quick else args.online_samples
    ours = run_worker(dict(base, kind="ours_train", epochs=epochs))
    print(f"eventsg: done ({sum(e['train_s'] for e in ours['history']):.0f} s training)")
    runs = [("eventsg", ours)]
    rows = [summary_row("eventsg (online, event-driven)", 0.0, 0, 1, ours)]
    throughput = {}
    for dt in dts:
        res = run_worker(dict(tjob, kind="torch_train", dt=dt, epochs=args.torch_epochs or epochs))
        runs.append((f"snnTorch dt={dt:g}", res))
        rows.append(summary_row(f"snnTorch BPTT, {args.threads} thread(s)", dt, res["steps"],
                                args.batch, res))
        if online:
            one = run_worker(dict(tjob, kind="torch_train", dt=dt, epochs=1, n_train=online,
                                  n_test=1, settings=dict(tjob["settings"], batch=1)))
            throughput[dt] = one["n_train"] / one["history"][0]["train_cpu_s"]
        print(f"snnTorch dt={dt:g}: done")
    return rows, runs, throughput


def memory_rows(base, tjob, dts, stretch):
    """training_memory.csv: one step per system, dt and length factor, each in a fresh process."""
    jobs = [("eventsg", 0.0, dict(base, kind="ours_step"))]
    jobs += [(f"snnTorch (batch {tjob['settings']['batch']})", dt,
              dict(tjob, kind="torch_step", dt=dt)) for dt in dts]
    rows = []
    for system, dt, job in jobs:
        for factor in (1.0, stretch):
            r = run_worker(dict(job, factor=factor))
            rows.append(dict(system=system, dt_ms=dt, length=factor, duration_ms=r["duration_ms"],
                             steps=r["steps"], step_s=r["step_s"], step_cpu_s=r["step_cpu_s"],
                             peak_mb=r["peak_mb"], graph_mb=r["graph_mb"]))
    return rows


def ratio_rows(rows, throughput, mem, stretch):
    """training_ratios.csv, per snnTorch dt: our training samples per CPU second over its
    (minibatch and batch 1), the same in wall time, test samples per CPU second, and each
    side's step memory with long samples over short ones."""
    def growth(dt, key):
        short, long = (next(m[key] for m in mem if m["dt_ms"] == dt and m["length"] == f)
                       for f in (1.0, stretch))
        return long / short if short > 0 else float("nan")

    ours = rows[0]
    return [dict(dt_ms=r["dt_ms"],
                 speed_train=ours["train_per_cpu_s"] / r["train_per_cpu_s"],
                 speed_train_batch1=ours["train_per_cpu_s"] / throughput[r["dt_ms"]]
                 if r["dt_ms"] in throughput else float("nan"),
                 speed_train_wall=ours["train_per_s"] / r["train_per_s"],
                 speed_test=ours["test_per_cpu_s"] / r["test_per_cpu_s"],
                 snntorch_batch1_per_cpu_s=throughput.get(r["dt_ms"], float("nan")),
                 snntorch_peak_growth=growth(r["dt_ms"], "peak_mb"),
                 snntorch_graph_growth=growth(r["dt_ms"], "graph_mb"),
                 eventsg_traced_growth=growth(0.0, "graph_mb"))
            for r in rows[1:]]


if __name__ == "__main__":
    main()

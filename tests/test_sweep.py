"""Sweeps on dask.distributed: runs match serial runs bit for bit, resuming redoes
nothing finished, failures are recorded, and a SIGKILL never corrupts the file."""
import csv
import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

import eventsg as esg
from eventsg import SpecError
from eventsg.cli import main
from eventsg.io.config import load_config
from eventsg.sweeps import (expand, parse_grid_arg, parse_grid_args, parse_seeds, plot_summary,
                           read_run, read_summary)
from eventsg.sweeps.store import SweepStore, parts_dir

distributed = pytest.importorskip("distributed")

TINY = """\
[network]
seed = 1

[run]
duration = {duration}
sample_times = {{start = 0.0, stop = {duration}, step = 5.0}}
max_spikes = {max_spikes}

[[population]]
name = "inputs"
type = "poisson"
n = {n_in}
rate = 20.0

[[population]]
name = "hidden"
type = "gamma"
n = {n}
K = 2
tau = [1.0, 4.0]
theta = 0.05

[[projection]]
pre = "inputs"
post = "hidden"
delay = 1.0
weights = {{kind = "random_sparse", fan_out = 10, mean = 0.3, std = 0.1, seed = 2}}
"""


def tiny(duration=100.0, n_in=20, n=30, max_spikes=20000):
    return TINY.format(duration=duration, n_in=n_in, n=n, max_spikes=max_spikes)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as cl:
        yield cl


def serial_spikes(text, theta, seed):
    """Spikes of one run made the ordinary way, from the config text edited by hand."""
    edited = text.replace("theta = 0.05", f"theta = {theta!r}").replace(
        "[network]\nseed = 1", f"[network]\nseed = {seed}")
    net, kwargs = load_config(edited).build()
    res = net.run(progress=False, **kwargs)
    return {pop: res.spikes(pop) for pop in res.populations}


def by_params(path):
    return {(row["theta"], row["seed"]): row for row in read_summary(path)}


def assert_same_as_serial(path, text):
    rows = by_params(path)
    for (theta, seed), row in rows.items():
        assert row["status"] == "ok", row["error"]
        stored = read_run(path, row["run_id"])["spikes"]
        for pop, ref in serial_spikes(text, theta, seed).items():
            t, i, a = stored[pop]
            assert len(ref) > 0
            np.testing.assert_array_equal(t, ref.t)          # bit for bit
            np.testing.assert_array_equal(i, ref.i)
            np.testing.assert_array_equal(a, ref.a)
    return rows


# ---------------------------------------------------------------- grids and key paths

def test_cli_forms_of_grid_and_seeds():
    assert parse_grid_arg("theta=0.01,0.02") == ("theta", [0.01, 0.02])
    assert parse_grid_arg("population[1].tau=[1.0,2.0],[2.0,4.0]") == \
        ("population[1].tau", [[1.0, 2.0], [2.0, 4.0]])
    assert parse_grid_arg("run.engine=clock,event") == ("run.engine", ["clock", "event"])
    assert parse_grid_arg("population.hidden.n=10,20") == ("population.hidden.n", [10, 20])
    assert parse_seeds("0:3") == [0, 1, 2]
    assert parse_seeds("0:10:4,20") == [0, 4, 8, 20]
    for bad in ("theta", "theta=", "theta=1,,2", "tau=[1,2"):
        with pytest.raises(SpecError, match="--grid"):
            parse_grid_arg(bad)
    with pytest.raises(SpecError, match="given twice"):
        parse_grid_args(["theta=1", "theta=2"])
    with pytest.raises(SpecError, match="twice"):
        parse_seeds("0:3,2")
    with pytest.raises(SpecError, match="START:STOP"):
        parse_seeds("a:b")


def test_grid_is_the_product_and_ids_are_stable():
    runs = expand(tiny(), {"theta": [0.02, 0.05], "run.duration": [100.0, 120.0, 150.0]}, [4, 5])
    assert len(runs) == 12 and len({r.run_id for r in runs}) == 12
    again = expand(tiny(), {"run.duration": [150.0, 120.0, 100.0], "theta": [0.05, 0.02]}, [5, 4])
    assert {r.run_id for r in runs} != set()
    assert {(r.kwargs["theta"], r.kwargs["run.duration"], r.seed): r.run_id for r in runs} == \
        {(r.kwargs["theta"], r.kwargs["run.duration"], r.seed): r.run_id for r in again}


@pytest.mark.parametrize("key, message", [
    ("thta", "no gamma population gives 'thta'"),
    ("population.hiden.theta", "no population is named 'hiden'"),
    ("population[5].theta", r"population\[5\] does not exist"),
    ("projection[0].weights.nope", "config error: unknown key projection\\[0\\].weights.nope"),
    ("population.hidden.name", "cannot be swept"),
    ("run", "is a section"),
    ("projection[0].weights", "is a table"),
    ("runs.duration", "starts with one of"),
    ("population.hidden", "population.hidden is a table"),
    ("population.hidden.tau[7]", r"tau\[7\] does not exist"),
])
def test_bad_grid_keys_name_the_key(key, message):
    with pytest.raises(SpecError, match=message):
        expand(tiny(), {key: [1.0]})


def test_bad_values_and_conflicts_name_the_config_key_path():
    with pytest.raises(SpecError, match=r"run theta = -0.1: config error at population\[1\]"
                                        r"\.theta: -0.1 is not allowed"):
        expand(tiny(), {"theta": [0.05, -0.1]})
    with pytest.raises(SpecError, match="both set population\\[1\\].theta"):
        expand(tiny(), {"theta": [0.05], "population.hidden.theta": [0.1]})
    with pytest.raises(SpecError, match="so do seeds"):
        expand(tiny(), {"network.seed": [1]}, seeds=[2])
    two = tiny() + '\n[[population]]\nname = "out"\ntype = "gamma"\nn = 4\ntheta = 0.1\n'
    with pytest.raises(SpecError, match="ambiguous.*population.hidden.theta = 0.05"):
        expand(two, {"theta": [0.02]})


def test_shorthand_sets_every_gamma_population_that_gives_it():
    two = tiny() + '\n[[population]]\nname = "out"\ntype = "gamma"\nn = 4\ntheta = 0.05\n'
    run, = expand(two, {"theta": [0.02]})
    config = esg.sweeps.configure(two, run)
    assert [p.kwargs.get("theta") for p in config.network.populations] == [None, 0.02, 0.02]


def test_import_eventsg_stays_light():
    code = ("import sys, eventsg; s = eventsg.sweep; assert callable(s); "
            "print(sorted(m for m in ('h5py', 'dask', 'distributed', 'matplotlib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ---------------------------------------------------------------- sweeps on a 2-worker cluster

def test_sweep_matches_serial_runs_and_resumes_without_redoing(client, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(tiny())
    out = tmp_path / "sweep.h5"
    done = esg.sweep(config, grid={"theta": [0.02, 0.05, 0.1]}, seeds=[0, 1], client=client,
                     output=out, progress=False)
    assert len(done.ran) == 6 and done.skipped == () and done.failed == ()
    rows = assert_same_as_serial(out, tiny())
    assert sorted(rows) == [(th, s) for th in (0.02, 0.05, 0.1) for s in (0, 1)]
    with h5py.File(out, "r") as f:                      # parameters as attributes, SONATA spikes
        g = f["runs"][rows[(0.1, 1)]["run_id"]]
        assert g.attrs["theta"] == 0.1 and g.attrs["seed"] == 1 and g.attrs["status"] == "ok"
        assert int(g["spikes"].attrs["magic"]) == 0x0A7A
        assert g["spikes/hidden/timestamps"].attrs["units"] == "ms"
        assert g["stats"].attrs["spikes"] == rows[(0.1, 1)]["spikes"]
    for row in rows.values():                           # summary measures of each run
        spikes = read_run(out, row["run_id"])["spikes"]["hidden"]
        assert row["hidden.spikes"] == len(spikes[0])
        assert row["hidden.rate_hz"] == pytest.approx(len(spikes[0]) / 30 / 0.1)
    with open(out.with_suffix(".csv"), newline="") as fh:
        table = list(csv.DictReader(fh))
    assert sorted(r["run_id"] for r in table) == sorted(r["run_id"] for r in rows.values())
    assert not parts_dir(out).exists()

    again = esg.sweep(config, grid={"theta": [0.02, 0.05, 0.1]}, seeds=[0, 1], client=client,
                      output=out, progress=False)
    assert again.ran == () and len(again.skipped) == 6
    assert by_params(out) == rows                       # nothing rewritten (same wall times)

    more = esg.sweep(config, grid={"theta": [0.05, 0.2]}, seeds=[0, 1], client=client,
                     output=out, progress=False)        # a wider grid does only the new runs
    assert len(more.ran) == 2 and len(more.skipped) == 2
    assert len(read_summary(out)) == 8

    config.write_text(tiny().replace("rate = 20.0", "rate = 30.0"))
    with pytest.raises(SpecError, match="another config text"):
        esg.sweep(config, grid={"theta": [0.05]}, seeds=[0], client=client, output=out)


def test_failed_run_is_recorded_and_the_others_finish(client, tmp_path):
    out = tmp_path / "hot.h5"
    done = esg.sweep(tiny(), grid={"theta": [0.0005, 0.05]}, client=client, output=out,
                     progress=False)                    # theta = 0.0005 exceeds max_spikes
    assert len(done.ran) == 2 and len(done.failed) == 1
    rows = {row["theta"]: row for row in read_summary(out)}
    assert rows[0.05]["status"] == "ok" and rows[0.05]["hidden.spikes"] > 0
    bad = rows[0.0005]
    assert bad["status"] == "failed" and bad["error"].startswith("RunawayError: runaway activity")
    assert np.isnan(bad["hidden.rate_hz"])
    attrs = read_run(out, bad["run_id"])["attrs"]
    assert attrs["status"] == "failed" and attrs["error_type"] == "RunawayError"
    assert "max_spikes = 20000" in attrs["error"]

    kept = esg.sweep(tiny(), grid={"theta": [0.0005, 0.05]}, client=client, output=out,
                     progress=False, retry_failed=False)
    assert kept.ran == ()
    address = client.scheduler.address                  # the CLI on an existing scheduler
    config = tmp_path / "tiny.toml"
    config.write_text(tiny())
    assert main(["sweep", str(config), "--grid", "theta=0.0005,0.05", "-o", str(out),
                 "--scheduler", address, "-q"]) == 3    # the failed run is retried, fails again
    assert read_summary(out)[-1]["run_id"] == bad["run_id"]
    assert main(["sweep", str(config), "--grid", "population.nope.theta=1", "-o",
                 str(out)]) == 2


def test_killed_sweep_leaves_a_readable_file_and_resume_does_the_rest(client, tmp_path):
    text = tiny(duration=1500.0, n_in=100, n=200, max_spikes=10**7)   # about 0.5 s a run
    config = tmp_path / "slow.toml"
    config.write_text(text)
    out = tmp_path / "sweep.h5"
    grid = {"theta": [0.04, 0.05, 0.06, 0.08]}
    proc = subprocess.Popen([sys.executable, "-m", "eventsg", "sweep", str(config), "--grid",
                             "theta=0.04,0.05,0.06,0.08", "--seeds", "0:2", "-o", str(out),
                             "--workers", "1", "--merge-every", "0", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)     # its workers die with it
    try:
        deadline = time.time() + 90
        while time.time() < deadline and proc.poll() is None:
            if out.exists() and len(read_summary(out)) >= 2:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the sweep ended before it was killed"
    before = {row["run_id"] for row in read_summary(out)}          # the file opens and reads
    before |= {p.stem for p in parts_dir(out).glob("*.h5")}
    assert 2 <= len(before) < 8

    resumed = esg.sweep(config, grid=grid, seeds=[0, 1], client=client, output=out,
                        progress=False)
    assert resumed.failed == (), read_summary(out)[-1]["error"]
    assert len(resumed.ran) == 8 - len(before)
    assert set(resumed.ran).isdisjoint(before) and set(resumed.skipped) == before
    rows = assert_same_as_serial(out, text)
    assert len(rows) == 8
    assert not parts_dir(out).exists()


MERGER = """
import sys, numpy as np
from eventsg.sweeps.grid import expand
from eventsg.sweeps.store import SweepStore, MEASURES
text = open(sys.argv[1]).read()
runs = expand(text, {{"theta": [0.01 * (k + 1) for k in range(400)]}})
store = SweepStore.open(sys.argv[2], text, runs, ["hidden"], merge_s=0.0)
n = {n}
t = np.arange(n, dtype=float)
for run in runs:
    if store.status(run.run_id) is not None:
        continue
    result = {{"status": "ok", "sim_status": "ok", "message": "", "t_reached": 100.0,
              "stats": {{"spikes": n, "events": n, "synaptic_events": n, "wall_s": 0.1,
                        "jit_s": 0.0}},
              "summary": {{"hidden": {{m: 1.0 for m in MEASURES}}}},
              "spikes": {{"hidden": (t, np.zeros(n, np.int64), t)}}, "wall_s": 0.1,
              "worker": "w"}}
    store.add(run, result, 1)
"""


def test_sigkill_during_merges_never_corrupts_the_file(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(tiny())
    out = tmp_path / "stress.h5"
    n = 200_000
    script = tmp_path / "merger.py"
    script.write_text(textwrap.dedent(MERGER.format(n=n)))
    rng = np.random.default_rng(0)
    seen = 0
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(config), str(out)],
                                stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while not out.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.2, 1.0))               # somewhere in a run of merges
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err.decode()
        rows = read_summary(out)                        # readable, and every row is complete
        with h5py.File(out, "r") as f:
            assert sorted(f["runs"]) == sorted(r["run_id"] for r in rows)
            for r in rows:
                ts = f["runs"][r["run_id"]]["spikes/hidden/timestamps"]
                assert ts.shape == (n,) and ts[-1] == n - 1
        assert len(rows) >= seen
        seen = len(rows)
    assert seen > 0
    text = config.read_text()
    runs = expand(text, {"theta": [0.01 * (k + 1) for k in range(400)]})
    parts = {p.stem for p in parts_dir(out).glob("*.h5")}
    store = SweepStore.open(out, text, runs, ["hidden"])  # recovery merges leftover parts
    store.close()
    assert len(read_summary(out)) == seen + len(parts - {r["run_id"] for r in rows})


# ---------------------------------------------------------------- plot

def test_plot_summary_shows_the_mean_over_seeds(client, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    out = tmp_path / "sweep.h5"
    esg.sweep(tiny(), grid={"theta": [0.02, 0.1]}, seeds=[0, 1, 2], client=client, output=out,
              progress=False)
    fig = plot_summary(out, x="theta", y="rate_hz", output=tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 1000
    line, = fig.axes[0].get_lines()
    spikes = {(0.02, s): len(serial_spikes(tiny(), 0.02, s)["hidden"].t) for s in range(3)}
    x, y = line.get_data()
    assert list(x) == [0.02, 0.1]
    assert y[0] == pytest.approx(np.mean([spikes[(0.02, s)] / 30 / 0.1 for s in range(3)]))
    per_seed = plot_summary(out, x="theta", y="silent_fraction", hue="seed")
    assert len(per_seed.axes[0].get_lines()) == 3
    with pytest.raises(SpecError, match="y = 'rate'"):
        plot_summary(out, x="theta", y="rate")

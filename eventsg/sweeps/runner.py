"""Run a sweep on dask.distributed: submit the runs, write each one as it arrives."""
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecError
from .grid import expand
from .store import SweepStore, csv_path
from .task import failure, run_task


@dataclass(frozen=True)
class SweepOutcome:
    """What a call of ``sweep`` did. Run ids are those of the file's ``/runs`` groups.

    ran: runs done now (in order of arrival); skipped: runs already in the file;
    failed: runs done now that failed (their error is in the file); wall_s: seconds;
    merge_s: seconds spent merging into the main file; jit_s: seconds each run
    spent loading (or compiling) the kernels.
    """
    path: Path
    csv: Path
    total: int
    ran: tuple
    skipped: tuple
    failed: tuple
    wall_s: float
    merge_s: float
    jit_s: tuple


def sweep(config, grid=None, seeds=None, *, output="sweep.h5", client=None, workers=None,
          retry_failed=True, progress=None, merge_s=5.0):
    """Run ``config`` for every combination of ``grid`` values and ``seeds`` on dask.distributed.

    config: a Config, a .toml path or TOML text. grid: {key path: list of values}
    (``eventsg.sweeps.grid`` explains key paths, e.g. ``theta``,
    ``population.hidden.tau``, ``run.duration``); seeds: ints, each run's
    ``network.seed`` (None: the config's). output: the sweep file (HDF5; the
    summary table is also written beside it as CSV). client: None (start a
    LocalCluster of ``workers`` processes, default one per core, one thread
    each), a ``distributed.Client``, or a scheduler address ``"tcp://host:port"``.
    retry_failed: also redo runs that failed before (default); finished runs are
    never redone. merge_s: least seconds between merges into the main file.
    progress: True / False / None (a bar on terminals).
    Returns a SweepOutcome. Raises SpecError before anything runs for a bad key,
    value or output; a run that fails is recorded in the file and the others go on.
    """
    from ..io.config import Config, load_config
    _check_cluster_args(client, workers)
    if not isinstance(config, Config):
        config = load_config(config)
    base = str(config.source_path.parent) if config.source_path is not None else os.getcwd()
    runs = expand(config.text, grid, seeds, base)
    populations = [p.name for p in config.network.populations if p.type == "gamma"]
    t0 = time.perf_counter()
    store = SweepStore.open(output, config.text, runs, populations, merge_s=merge_s)
    ran, failed, jit = [], [], []
    try:
        def is_done(run):
            status = store.status(run.run_id)
            return status == "ok" or (status == "failed" and not retry_failed)
        todo = [r for r in runs if not is_done(r)]
        skipped = tuple(r.run_id for r in runs if is_done(r))
        if todo:
            for run, result in _results(config.text, base, todo, client, workers, progress):
                seed = run.seed if run.seed is not None else config.network.seed
                store.add(run, result, seed)
                ran.append(run.run_id)
                if result["status"] != "ok":
                    failed.append(run.run_id)
                else:
                    jit.append(result["stats"]["jit_s"])
    finally:
        store.close()
    return SweepOutcome(path=Path(output), csv=csv_path(output), total=len(runs), ran=tuple(ran),
                        skipped=skipped, failed=tuple(failed), wall_s=time.perf_counter() - t0,
                        merge_s=sum(store.merge_seconds), jit_s=tuple(jit))


def _results(text, base, runs, client, workers, progress):
    """(run, answer) pairs as the runs finish, on the given or a new cluster."""
    from distributed import as_completed
    from tqdm.auto import tqdm
    with _client(client, workers, len(runs)) as cl:
        token = os.urandom(4).hex()         # keys unique on a client shared by sweeps
        futures = {cl.submit(run_task, text, run, base, key=f"eventsg-run-{run.run_id}-{token}",
                             pure=False): run for run in runs}
        n_failed = 0
        bar = tqdm(total=len(runs), disable=None if progress is None else not progress,
                   desc="eventsg sweep", unit="run")
        with bar:
            for future in as_completed(futures):
                run = futures.pop(future)
                try:
                    result = future.result()
                except Exception as err:            # the worker died, or the task was lost
                    result = failure(run, err)
                future.release()
                n_failed += result["status"] != "ok"
                bar.update(1)
                if n_failed:
                    bar.set_postfix(failed=n_failed)
                yield run, result


def _check_cluster_args(client, workers):
    if client is not None and workers is not None:
        raise SpecError(f"sweep: workers = {workers!r} is not allowed with a client or scheduler "
                        "address; that cluster decides the workers (give workers=None)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise SpecError(f"sweep: workers = {workers!r} is not allowed; workers must be an "
                        "integer >= 1 (or None: one per core)")
    if client is not None and not isinstance(client, str) and not hasattr(client, "submit"):
        raise SpecError(f"sweep: client = {client!r} is not allowed; client must be None, a "
                        "distributed.Client or a scheduler address such as 'tcp://host:8786'")


@contextlib.contextmanager
def _client(client, workers, n_runs):
    """The given client, a client of the scheduler at an address, or a new LocalCluster's."""
    from distributed import Client, LocalCluster
    if client is not None and not isinstance(client, str):
        yield client
    elif isinstance(client, str):
        with Client(client) as cl:
            yield cl
    else:
        n = min(workers or os.cpu_count() or 1, n_runs)
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as cl:
            yield cl

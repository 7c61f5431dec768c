"""One run of a sweep, as a worker does it: config text + a Run in, plain data out.

The argument and the answer are small picklable objects, so any dask worker (a
process on this machine or a node of a cluster) can do the run: it needs the
package and the files the config names (relative names resolve against ``base``).
"""
import os
import socket
import time
import traceback

import numpy as np


def run_task(text, run, base=None):
    """Build and run ``run`` (a grid.Run) on the config ``text``; never raises.

    Returns a dict: status "ok" with spikes {population: (t ms, i, a)}, summary
    {population: PopulationSummary dict}, stats (RunStats dict), t_reached (ms),
    message; or status "failed" with error_type, error (message) and traceback.
    Both carry seed (the network seed used), wall_s (s, the whole task) and worker.
    """
    t0 = time.perf_counter()
    out = {"run_id": run.run_id, "worker": f"{socket.gethostname()}:{os.getpid()}", "seed": None}
    try:
        from ..analysis.measures import summary
        from .grid import configure
        config = configure(text, run, base)
        out["seed"] = config.network.seed
        net, kwargs = config.build()
        kwargs["progress"] = False
        res = net.run(**kwargs)
        out.update(status="ok", sim_status=res.status, message=res.message,
                   t_reached=float(res.t_reached),
                   stats=res.stats.as_dict(),
                   summary={name: s.as_dict() for name, s in summary(res).items()},
                   spikes={name: tuple(np.asarray(x) for x in res.spikes(name))
                           for name in res.populations})
    except Exception as err:            # recorded in the sweep file; the sweep goes on
        out.update(status="failed", error_type=type(err).__name__, error=str(err),
                   traceback=traceback.format_exc(limit=20))
    out["wall_s"] = time.perf_counter() - t0
    return out


def failure(run, err):
    """The answer of a run whose task could not report (the worker died, a lost connection)."""
    return {"run_id": run.run_id, "worker": "", "seed": run.seed, "status": "failed",
            "error_type": type(err).__name__, "error": str(err) or repr(err),
            "traceback": "".join(traceback.format_exception(type(err), err, err.__traceback__,
                                                            limit=20)),
            "wall_s": float("nan")}

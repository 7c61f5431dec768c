"""HDF5 checkpoints of a Trainer: parameters, optimizer state, epoch and history."""
import json

from ..engine.bounds import fill_push_bounds
from ..io.atomic import atomic_path

ARRAYS = ("mw", "sw", "mv", "sv", "mb", "sb", "steps")
PARAMS = ("syn_weight", "v", "nrn_bias")


def save_checkpoint(path, trainer, epoch, history):
    """Write the trainer's parameters and optimizer state after ``epoch`` epochs (atomically)."""
    import h5py
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name in PARAMS:
            f.create_dataset("params/" + name, data=getattr(trainer.compiled, name))
        f.create_dataset("params/gain", data=trainer.learner.gain)
        for name in ARRAYS:
            f.create_dataset("optimizer/" + name, data=getattr(trainer.learner, name))
        f.attrs["epoch"] = int(epoch)
        f.attrs["history"] = json.dumps(history)


def load_checkpoint(path, trainer):
    """Restore parameters and optimizer state in place; returns (epoch, history)."""
    import h5py
    with h5py.File(path, "r") as f:
        net = trainer.compiled
        for name in PARAMS:
            getattr(net, name)[:] = f["params/" + name][()]
        # the bounds derived from the bucket weights follow v (engine/bounds.py)
        fill_push_bounds(net)
        trainer.learner.gain[:] = f["params/gain"][()]
        for name in ARRAYS:
            getattr(trainer.learner, name)[:] = f["optimizer/" + name][()]
        return int(f.attrs["epoch"]), json.loads(f.attrs["history"])


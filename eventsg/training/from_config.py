"""Training from a TOML config: the run config's network plus a [train] section.

    [train]
    inputs = "input"          # the spike source whose events each sample replaces
    readout = "readout"       # the gamma population the loss reads
    loss = "ce"               # or "mse" (to each sample's target signal)
    optimizer = "adam"        # or "sgd"
    lr = 0.003
    lr_decay = 0.8            # the rate of epoch e is lr * lr_decay ** e
    epochs = 5
    seed = 0                  # shuffling
    window = [20.0, 70.0]     # read-out window, ms (default: the whole sample)
    checkpoint = "train.h5"   # resume from / save to (optional)
    curve = "curve.png"       # learning curve (optional)
    [train.data]
    kind = "randman"          # or "temporal_pattern" (their keyword arguments follow),
    n_train = 1000            #    or "shd": file = "train.h5", test_file = "test.h5"

Every sample lasts the [run] section's ``duration`` (ms).
"""
from ..errors import SpecError
from ..io.config import Config, load_config
from .fit import fit, plot_learning_curve
from .trainer import Trainer


def load_training_data(spec, duration_ms):
    """(train, test) sequences of samples for a TrainSpec; samples last ``duration_ms``."""
    params = dict(spec.data)
    if spec.data_kind == "shd":
        from ..io.shd import SHDDataset
        if "file" not in params:
            raise SpecError("config error at train.data.file: required key is missing "
                            "(the SHD-layout training file)")
        unknown = set(params) - {"file", "test_file", "n_channels"}
        if unknown:
            raise SpecError(f"config error: unknown key train.data.{sorted(unknown)[0]}; allowed "
                            "for kind 'shd': file, test_file, n_channels")
        n = params.get("n_channels")
        train = SHDDataset(params["file"], n).training_samples(duration_ms)
        test = (SHDDataset(params["test_file"], n).training_samples(duration_ms)
                if "test_file" in params else None)
        return train, test
    from .. import datasets
    make = getattr(datasets, spec.data_kind)
    try:
        train, test = make(**params)
    except TypeError as err:
        raise SpecError(f"config error at train.data: {err} (kind {spec.data_kind!r}; see "
                        f"eventsg.datasets.{spec.data_kind})") from None
    except SpecError as err:
        raise SpecError(f"config error at train.data: {err}") from None
    return _lasting(train, duration_ms), _lasting(test, duration_ms)


def _lasting(samples, duration_ms):
    out = []
    for k, s in enumerate(samples):
        if s.times.size and s.times.max() > duration_ms:
            raise SpecError(f"config error at run.duration: {duration_ms} ms is shorter than "
                            f"sample {k} of the training data (last spike at {s.times.max():g} ms)")
        out.append(s._replace(duration_ms=duration_ms))
    return out


def train_config(config, epochs=None, progress=None):
    """Train the network of ``config`` (a Config, a path or TOML text) as its [train] says.

    epochs: override the config's. Returns (trainer, history), history as ``fit``'s.
    """
    if not isinstance(config, Config):
        config = load_config(config)
    spec = config.train
    if spec is None:
        raise SpecError("config error: required section [train] is missing (needed to train)")
    net, run_kwargs = config.build()
    duration = run_kwargs["duration"]
    train, test = load_training_data(spec, duration)
    channels = net.population(spec.inputs).n
    first = train[0]
    if getattr(first, "n_channels", channels) != channels:
        raise SpecError(f"config error at train.inputs: population {spec.inputs!r} has n = "
                        f"{channels}; the training data has {first.n_channels} channels")
    trainer = Trainer(net, spec.inputs, spec.readout, loss=spec.loss, optimizer=spec.optimizer,
                      lr=spec.lr, window=spec.window, engine=run_kwargs.get("engine", "event"),
                      dt=run_kwargs.get("dt"))
    history = fit(trainer, train, epochs=epochs or spec.epochs, seed=spec.seed, test=test,
                  checkpoint=None if spec.checkpoint is None else str(spec.checkpoint),
                  progress=progress, lr_decay=spec.lr_decay)
    if spec.curve is not None:
        plot_learning_curve(history, spec.curve)
    return trainer, history

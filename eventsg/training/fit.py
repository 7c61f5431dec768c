"""Epochs over a data set: shuffling with a seed, progress bar, per-epoch metrics, checkpoints."""
import numpy as np

from ..model.validation import check_count, check_scalar
from .checkpoint import load_checkpoint, save_checkpoint


def _sample_args(sample):
    """Run arguments of a sample: any object with times, ids, amplitudes, label, target, duration_ms."""
    return dict(times=sample.times, ids=sample.ids, duration=sample.duration_ms,
                amplitudes=getattr(sample, "amplitudes", None), label=getattr(sample, "label", 0) or 0,
                target=getattr(sample, "target", None))


def _epoch_order(seed, epoch, n):
    """The sample order of an epoch: derived from (seed, epoch) only, so a resumed run repeats it."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def evaluate(trainer, samples, update=False, order=None, progress=False, desc="eval"):
    """Loss, accuracy and spikes per neuron per second of each gamma population over samples.

    accuracy is NaN for the MSE loss (no classes).
    """
    from tqdm.auto import tqdm
    order = np.arange(len(samples)) if order is None else order
    losses, correct, spikes, seconds = [], 0, {}, 0.0
    for k in tqdm(order, disable=not progress, desc=desc, leave=False):
        s = samples[int(k)]
        out = trainer.run_sample(update=update, record_spikes=False, **_sample_args(s))
        losses.append(out.loss)
        correct += int(out.prediction == (getattr(s, "label", 0) or 0))
        for name, n in out.spikes.items():
            spikes[name] = spikes.get(name, 0) + n
        seconds += s.duration_ms * 1e-3
    rates = {name: n / (trainer.net.population(name).n * seconds) for name, n in spikes.items()}
    return {"loss": float(np.mean(losses)) if losses else float("nan"),
            "accuracy": correct / max(len(order), 1) if trainer.classifies else float("nan"),
            "rate_hz": rates}


def fit(trainer, samples, epochs=1, seed=0, test=None, checkpoint=None, progress=None,
        lr_decay=1.0):
    """Train for ``epochs`` passes over ``samples`` (shuffled from ``seed``); returns the history.

    lr_decay: epoch e (from 0) trains with ``trainer.base_lr * lr_decay ** e``.

    test: samples evaluated (without updates) after each epoch. checkpoint: an HDF5
    path written after each epoch; if it exists, training resumes from it and ends
    with the same parameters as an uninterrupted run. History: one dict per epoch
    with train loss, accuracy, spikes per neuron per second per population (and test_*).
    """
    epochs = check_count("fit", "epochs", epochs)
    lr_decay = check_scalar("fit", "lr_decay", lr_decay, positive=True)
    seed = check_count("fit", "seed", seed, low=0)
    history, start = [], 0
    if checkpoint is not None:
        import os
        if os.path.exists(checkpoint):
            start, history = load_checkpoint(checkpoint, trainer)
    for epoch in range(start, epochs):
        order = _epoch_order(seed, epoch, len(samples))
        trainer.lr = trainer.base_lr * lr_decay ** epoch
        record = {"epoch": epoch + 1}
        record.update(evaluate(trainer, samples, update=True, order=order,
                               progress=progress is not False, desc=f"epoch {epoch + 1}/{epochs}"))
        if test is not None:
            record.update({"test_" + k: v for k, v in evaluate(trainer, test).items()})
        history.append(record)
        if checkpoint is not None:
            save_checkpoint(checkpoint, trainer, epoch + 1, history)
    return history


def plot_learning_curve(history, path=None):
    """Loss, accuracy (classification only) and spikes per neuron per second of each
    population per epoch (train, and test when present); saved to ``path`` if given."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ep = [h["epoch"] for h in history]
    classifies = bool(history) and np.isfinite(history[0]["accuracy"])
    fig, axes = plt.subplots(1, 3 if classifies else 2, figsize=(13 if classifies else 9, 3.5))
    a1, a3 = axes[0], axes[-1]
    for prefix in ("", "test_"):
        if history and prefix + "loss" in history[0]:
            label = prefix.strip("_") or "train"
            a1.plot(ep, [h[prefix + "loss"] for h in history], "o-", label=label)
            if classifies:
                axes[1].plot(ep, [h[prefix + "accuracy"] for h in history], "o-", label=label)
    for name in (history[0]["rate_hz"] if history else ()):
        a3.plot(ep, [h["rate_hz"][name] for h in history], "o-", label=name)
    a1.set(xlabel="epoch", ylabel="loss")
    if classifies:
        axes[1].set(xlabel="epoch", ylabel="accuracy")
    a3.set(xlabel="epoch", ylabel="spikes / neuron / s (train)")
    from matplotlib.ticker import MaxNLocator
    for a in axes:
        a.legend()
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    if path is not None:
        from pathlib import Path

        from ..io.atomic import atomic_path
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png")
    return fig

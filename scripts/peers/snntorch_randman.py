"""snnTorch peer for the training benchmark: Randman learned with surrogate gradients and BPTT.

The same samples as eventsg's Randman config (continuous spike times, one spike
per channel in [0, 50] ms, 60 ms per sample) are put on a time grid of step
``dt`` ms: a spike at t falls in step ``floor(t / dt)`` (the last step if that
is past the end), so every spike counts once whatever dt is.

Network (no recurrence): inputs -> ``fc1`` -> a hidden layer of ``snn.Leaky``
LIF neurons (membrane time constant ``tau_mem`` ms, threshold 1, reset by
subtraction, fast-sigmoid surrogate of slope ``slope``) -> ``fc2`` -> leaky
integrator read-out neurons (``snn.Leaky`` without reset, ``tau_out`` ms). The
decay per step is ``exp(-dt / tau)`` and the layers have no biases (a bias
would add its current once per step, so more per ms at smaller dt), so the
dynamics in ms, and with them the weights, do not depend on dt. The class
scores are the read-out membranes' maxima over the sample; loss: cross-entropy
of those scores; Adam on minibatches; the gradient of each minibatch by
backpropagation through all its time steps.

``fc1`` is applied to the whole input sequence at once (one matrix product,
split into steps by ``unbind``, whose backward is one stack: indexing a step
instead would make each step's backward fill a gradient of the whole sequence);
the time loop runs the two layers step by step, as snnTorch's tutorials do.
"""
import math
import time
import weakref
from dataclasses import dataclass

import numpy as np


def snntorch_status():
    """(True, "torch X, snntorch Y") if both import, else (False, the reason)."""
    try:
        import snntorch
        import torch
    except Exception as err:              # noqa: BLE001 - any import failure means "not usable"
        return False, f"{type(err).__name__}: {err}"
    return True, f"torch {torch.__version__}, snntorch {snntorch.__version__}"


@dataclass(frozen=True)
class Settings:
    """Model and optimiser settings (times in ms)."""
    hidden: int = 128
    tau_mem: float = 10.0        # hidden membrane time constant, ms
    tau_out: float = 20.0        # read-out time constant, ms
    slope: float = 25.0          # fast-sigmoid surrogate slope
    w_in: float = 3.0            # fc1 weights ~ N(0, (w_in / sqrt(n_in))^2)
    lr: float = 1e-2             # Adam
    batch: int = 32
    seed: int = 0


class SpikeBins:
    """Samples binned on a grid of step ``dt_ms`` over ``duration_ms``.

    samples: objects with ``times`` (ms), ``ids`` and ``label``. Holds, per
    sample, the step and channel of each spike; ``batch(idx)`` makes the dense
    (steps, len(idx), n_channels) float32 input and the labels. stretch: a
    factor applied to every spike time (and so to the needed duration).
    """

    def __init__(self, samples, n_channels, duration_ms, dt_ms, stretch=1.0):
        self.n_channels = n_channels
        self.n_steps = int(round(duration_ms / dt_ms))
        self.steps = [np.minimum((np.asarray(s.times) * stretch / dt_ms).astype(np.int64),
                                 self.n_steps - 1) for s in samples]
        self.ids = [np.array(s.ids, np.int64) for s in samples]
        self.labels = np.array([s.label for s in samples], np.int64)

    def __len__(self):
        return len(self.labels)

    def batch(self, idx):
        """(input (steps, B, channels) float32 tensor, labels (B,) int64 tensor) of samples idx."""
        import torch
        x = torch.zeros(self.n_steps, len(idx), self.n_channels)
        for b, k in enumerate(idx):
            x[self.steps[k], b, self.ids[k]] = 1.0
        return x, torch.from_numpy(self.labels[np.asarray(idx)])


def build_model(n_in, n_out, dt_ms, settings):
    """The LIF network (a torch Module) for step ``dt_ms`` ms; weights from settings.seed."""
    import snntorch as snn
    import torch
    from snntorch import surrogate

    class LIFNet(torch.nn.Module):
        """inputs -> LIF layer -> leaky integrators; forward: their membranes (steps, B, n_out)."""

        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(n_in, settings.hidden, bias=False)
            self.lif = snn.Leaky(beta=math.exp(-dt_ms / settings.tau_mem),
                                 spike_grad=surrogate.fast_sigmoid(slope=settings.slope))
            self.fc2 = torch.nn.Linear(settings.hidden, n_out, bias=False)
            self.out = snn.Leaky(beta=math.exp(-dt_ms / settings.tau_out),
                                 reset_mechanism="none")

        def forward(self, x):
            current = self.fc1(x)
            mem1, mem2 = self.lif.init_leaky(), self.out.init_leaky()
            trace = []
            for cur in current.unbind(0):
                spk1, mem1 = self.lif(cur, mem1)
                _, mem2 = self.out(self.fc2(spk1), mem2)
                trace.append(mem2)
            return torch.stack(trace)

    torch.manual_seed(settings.seed)
    model = LIFNet()
    with torch.no_grad():
        model.fc1.weight.normal_(0.0, settings.w_in / math.sqrt(n_in))
    return model


def adam(model, settings):
    """The Adam optimiser of the model's parameters at settings.lr."""
    import torch
    return torch.optim.Adam(model.parameters(), lr=settings.lr)


def scores(model, x):
    """Class scores (B, n_out): each read-out membrane's maximum over time."""
    return model(x).amax(dim=0)


def train_step(model, optimiser, x, y):
    """One Adam step on a minibatch (BPTT over all its steps); returns (loss, correct)."""
    import torch
    optimiser.zero_grad()
    s = scores(model, x)
    loss = torch.nn.functional.cross_entropy(s, y)
    loss.backward()
    optimiser.step()
    return loss.item(), int((s.argmax(dim=1) == y).sum())


def clock():
    """(wall, CPU) seconds now: time.perf_counter and this process's time.process_time."""
    return np.array([time.perf_counter(), time.process_time()])


def train_epoch(model, optimiser, bins, batch, rng):
    """One pass over ``bins`` in random order; (mean loss, accuracy, (wall s, CPU s))."""
    order = rng.permutation(len(bins))
    losses, correct = [], 0
    t0 = clock()
    for lo in range(0, len(order), batch):
        x, y = bins.batch(order[lo:lo + batch])
        loss, ok = train_step(model, optimiser, x, y)
        losses.append(loss * len(y))
        correct += ok
    return sum(losses) / len(bins), correct / len(bins), clock() - t0


def evaluate(model, bins, batch):
    """(accuracy, (wall s, CPU s)) on ``bins`` without gradients, in minibatches of ``batch``."""
    import torch
    correct = 0
    t0 = clock()
    with torch.no_grad():
        for lo in range(0, len(bins), batch):
            x, y = bins.batch(np.arange(lo, min(lo + batch, len(bins))))
            correct += int((scores(model, x).argmax(dim=1) == y).sum())
    return correct / len(bins), clock() - t0


def train(train_bins, test_bins, n_out, dt_ms, epochs, settings):
    """Train a fresh model for ``epochs``; returns one dict per epoch.

    Each dict: epoch, loss, accuracy (train, during the epoch), test_accuracy,
    train_s and train_cpu_s (wall and CPU seconds of the epoch's training steps,
    binning included), test_s and test_cpu_s.
    """
    model = build_model(train_bins.n_channels, n_out, dt_ms, settings)
    optimiser = adam(model, settings)
    rng = np.random.default_rng(settings.seed)
    history = []
    for epoch in range(epochs):
        loss, acc, train_s = train_epoch(model, optimiser, train_bins, settings.batch, rng)
        test_acc, test_s = evaluate(model, test_bins, settings.batch)
        history.append(dict(epoch=epoch + 1, loss=loss, accuracy=acc, test_accuracy=test_acc,
                            train_s=train_s[0], train_cpu_s=train_s[1], test_s=test_s[0],
                            test_cpu_s=test_s[1]))
    return history


def graph_bytes(model, x, y):
    """Bytes autograd holds for the backward pass of the loss on (x, y) when the forward ends.

    The distinct storages of the tensors saved for backward that are still alive
    then (tensors saved by parts of the graph that do not reach the loss, such as
    the read-out's unused spikes, are freed during the forward pass and not counted).
    """
    import torch
    saved = []

    def pack(t):
        saved.append(weakref.ref(t))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = torch.nn.functional.cross_entropy(scores(model, x), y)
    storages = {}
    for ref in saved:
        t = ref()
        if t is not None:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
    del loss                                  # the graph (and what it saved) lives up to here
    return sum(storages.values())

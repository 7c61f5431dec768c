"""Built-in example networks (used by the README, the benchmarks and the tests)."""
import numpy as np

from .model import GammaPopulation, connectivity, Network, PoissonSource, SignalSource


def random_sparse(n_pre, n_post, fan_out, mean, std, seed):
    """(n_pre, n_post) CSR weights: each row reaches ``fan_out`` distinct targets.

    Weights are normal(mean, std). Deterministic for a given seed.
    """
    return connectivity.random_sparse(n_pre, n_post, mean=mean, std=std, fan_out=fan_out,
                                      seed=seed)


def two_layer_network(n_inputs=500, rate_hz=10.0, n_hidden=1000, n_out=1000, K=4,
                      tau=(1.0, 2.0, 4.0, 8.0), fan_out=100, theta=0.05, w_in=0.085, w_hid=0.03,
                      delay=1.0, seed=1):
    """Poisson inputs -> hidden -> output, sparse (fan-out ``fan_out``), delays in ms.

    The defaults are the engine benchmark: 500 inputs at 10 Hz, 2 x 1000 gamma
    neurons with K = 4, fan-out 100, giving about 4-5 million synaptic events per
    simulated second. Returns (network, (inputs, hidden, output)).
    """
    tau = np.asarray(tau, dtype=float)[:K] if len(tau) >= K else np.geomspace(1.0, 8.0, K)
    net = Network(seed=seed)
    inp = net.add(PoissonSource(n=n_inputs, rate=rate_hz, coding="pulse", name="inputs"))
    hid = net.add(GammaPopulation(n=n_hidden, K=K, tau=tau, theta=theta, name="hidden"))
    out = net.add(GammaPopulation(n=n_out, K=K, tau=tau, theta=theta, name="output"))
    net.connect(inp, hid, random_sparse(n_inputs, n_hidden, fan_out, w_in, w_in / 2, seed + 1),
                delay=delay)
    net.connect(hid, out, random_sparse(n_hidden, n_out, fan_out, w_hid, w_hid, seed + 2),
                delay=delay)
    return net, (inp, hid, out)


def demo_experiment(duration=500.0, n_neurons=1000, n_signals=20, seed=1):
    """The ``eventsg demo`` experiment: analog signals and Poisson noise through two layers.

    A continuous-time run: ``n_signals`` analog channels (sums of sines, 2-13 Hz,
    sigma-delta encoded exactly) and 500 Poisson channels (10 Hz) drive a hidden and an
    output layer of ``n_neurons`` gamma neurons each (K = 4). The hidden layer's
    state is recorded every 2 ms. Returns (network, duration in ms, run options).
    """
    net, (inp, hid, out) = two_layer_network(n_hidden=n_neurons, n_out=n_neurons, seed=seed)
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, duration, int(duration) + 1)
    freqs = rng.uniform(2.0, 13.0, (2, n_signals))
    phases = rng.uniform(0.0, 2 * np.pi, (2, n_signals))
    values = 0.5 * (np.sin(2e-3 * np.pi * freqs[0] * t[:, None] + phases[0])
                    + np.sin(2e-3 * np.pi * freqs[1] * t[:, None] + phases[1]))
    signals = net.add(SignalSource(t=t, values=values, theta=0.05, name="signals"))
    net.connect(signals, hid, random_sparse(n_signals, n_neurons, n_neurons // 10, 0.0, 0.08,
                                            seed + 3), delay=0.5)
    options = dict(sample_times=np.arange(0.0, duration + 1e-9, 2.0), record=["hidden"])
    return net, float(duration), options

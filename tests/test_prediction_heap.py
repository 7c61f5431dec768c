"""The indexed prediction heap against a plain dictionary of predictions.

The event loop sets, replaces, removes and pops one prediction per neuron, and
replaces the earliest one in place when a paused search resumes. Whatever the
order of operations, the top must be the neuron with the smallest (time, seq),
every neuron's recorded position must hold that neuron, and each parent must
come before its children.
"""
import numpy as np
from hypothesis import given, settings, strategies as st

from eventsg.engine.prediction_heap import (SIZE, make_prediction_heap, pred_pop, pred_remove,
                                            pred_set, pred_top, pred_top_time)

N_NEURONS = 12
TIMES = (0.0, 0.5, 1.0, 1.0, 2.5, 7.0)      # few values: ties are frequent


def check_heap(ph, model):
    """The heap holds exactly the model's predictions, in heap order."""
    n = int(ph.meta[SIZE])
    assert n == len(model)
    held = {int(ph.neuron[i]) for i in range(n)}
    assert held == set(model)
    for g in range(N_NEURONS):
        i = int(ph.pos[g])
        if g in model:
            assert ph.neuron[i] == g
            assert (ph.time[i], ph.seq[i]) == model[g][:2]
            assert ph.kind[g] == model[g][2]
        else:
            assert i == -1
    for i in range(1, n):
        parent = (i - 1) // 2
        assert (ph.time[parent], ph.seq[parent]) < (ph.time[i], ph.seq[i])
    if model:
        first = min(model, key=lambda g: model[g][:2])
        assert pred_top_time(ph) == model[first][0]
        assert pred_top(ph) == (model[first][0], first, model[first][2])
    else:
        assert pred_top_time(ph) == np.inf


OPS = st.lists(st.tuples(st.sampled_from(("set", "remove", "pop", "resume")),
                         st.integers(0, N_NEURONS - 1), st.sampled_from(TIMES),
                         st.integers(-1, 3)),
               max_size=80)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_matches_a_dictionary_of_predictions(ops):
    ph = make_prediction_heap(N_NEURONS)
    model = {}
    seq = 0
    for op, g, time, kind in ops:
        if op == "set":
            replaced = pred_set(ph, g, time, seq, kind)
            assert replaced == (g in model)
            model[g] = (time, seq, kind)
            seq += 1
        elif op == "remove":
            pred_remove(ph, g)
            model.pop(g, None)
        elif model and op == "pop":
            first = min(model, key=lambda h: model[h][:2])
            assert pred_pop(ph) == (model[first][0], first, model[first][2])
            del model[first]
        elif model:
            # a paused search resumes: its neuron's new prediction, no earlier, in place
            t_top, top, _ = pred_top(ph)
            later = t_top + time
            assert pred_set(ph, top, later, seq, kind)
            model[top] = (later, seq, kind)
            seq += 1
        check_heap(ph, model)


def test_long_random_run():
    rng = np.random.default_rng(7)
    n = 300
    ph = make_prediction_heap(n)
    model = {}
    for seq in range(20_000):
        g = int(rng.integers(n))
        u = rng.random()
        if u < 0.55:
            time = float(rng.integers(0, 50)) * 0.25
            pred_set(ph, g, time, seq, 1)
            model[g] = (time, seq, 1)
        elif u < 0.7:
            pred_remove(ph, g)
            model.pop(g, None)
        elif model:
            first = min(model, key=lambda h: model[h][:2])
            assert pred_pop(ph)[:2] == (model[first][0], first)
            del model[first]
    order = []
    while int(ph.meta[SIZE]):
        order.append(pred_pop(ph)[1])
    assert order == sorted(model, key=lambda h: model[h][:2])

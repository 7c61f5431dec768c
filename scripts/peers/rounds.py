"""Interleaved timing: every case run once a round, so that a spell of load on a shared
machine falls on every case alike instead of on one case's back-to-back runs."""


def interleaved_rounds(cases, repeats):
    """Run each ``(network, duration ms)`` of ``cases`` once a round for ``repeats``
    rounds (at least one), the order reversed every other round. Returns per case
    (its runs' kernel wall times in s, its last result)."""
    walls = [[] for _ in cases]
    last = [None] * len(cases)
    order = list(range(len(cases)))
    for i in range(max(repeats, 1)):
        for k in (order if i % 2 == 0 else order[::-1]):
            net, duration = cases[k]
            last[k] = net.run(duration=duration)
            walls[k].append(last[k].stats.wall_s)
    return list(zip(walls, last))

"""Peer simulators for the benchmarks: the SpikingGamma model in Brian2, a NEST
throughput reference, spike-train matching, and table/CSV helpers.

Used by ``scripts/bench_*.py`` and ``tests/test_peers.py``; not part of the
installed package.
"""

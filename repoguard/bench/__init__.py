"""Benchmark and test helpers: offline virtual environments, install timings.

``python -m repoguard.bench.install`` compares ``%repoguard install`` with a
plain ``pip install`` of the same commit (see the README, "The notebook magic").
"""

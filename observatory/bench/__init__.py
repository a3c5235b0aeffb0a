"""Benchmarks the project ships (`observatory bench ...`): timed runs, not unit tests.

Each benchmark module has `main(...) -> dict` returning its figures; the CLI prints them
as one JSON line.
"""

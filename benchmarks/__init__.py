"""Benchmarks (`make bench`): not part of the test suite; see benchmarks/README.md."""

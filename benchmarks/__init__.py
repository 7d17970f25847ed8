"""Benchmarks (not tests): `make benchmark`, `make benchmark-load`, ... see docs/benchmarks.md."""

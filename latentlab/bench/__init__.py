"""Benchmarks: `python -m latentlab.bench NAME`. Each prints figures measured side by side in one run."""

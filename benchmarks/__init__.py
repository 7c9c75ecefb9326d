"""`make bench`: every benchmark of the platform, written to docs/benchmarks.md and .json."""

"""Developer tooling for gitward: pinned tool builds, local clusters and source servers.

This package is not shipped with gitward. It is used by ``./dev``, by the test suite's fixtures and
by the benchmarks, so that all three start the very same real components in the very same way.
"""

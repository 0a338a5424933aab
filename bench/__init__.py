"""Benchmarks of gitward on the local control plane; ``./dev bench NAME`` runs one (``python -m bench``)."""

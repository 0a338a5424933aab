"""gitward.cluster (see docs/architecture.md, layers)."""

"""gitward.reconcile (see docs/architecture.md, layers)."""

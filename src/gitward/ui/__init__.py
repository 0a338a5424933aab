"""gitward.ui (see docs/architecture.md, layers)."""

"""gitward.testing (see docs/architecture.md, layers)."""

"""gitward.cli (see docs/architecture.md, layers)."""

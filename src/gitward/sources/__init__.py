"""gitward.sources (see DESIGN.md section 3)."""

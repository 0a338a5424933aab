"""gitward.cli (see DESIGN.md section 3)."""

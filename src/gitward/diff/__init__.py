"""gitward.diff (see DESIGN.md section 3)."""

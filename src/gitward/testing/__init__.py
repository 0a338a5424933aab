"""gitward.testing (see DESIGN.md section 3)."""

"""gitward.apply (see DESIGN.md section 3)."""

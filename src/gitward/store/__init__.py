"""gitward.store (see DESIGN.md section 3)."""

"""gitward.model (see DESIGN.md section 3)."""

"""gitward.health (see DESIGN.md section 3)."""

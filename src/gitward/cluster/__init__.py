"""gitward.cluster (see DESIGN.md section 3)."""

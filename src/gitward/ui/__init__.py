"""gitward.ui (see DESIGN.md section 3)."""

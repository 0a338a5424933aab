"""gitward.plan (see DESIGN.md section 3)."""

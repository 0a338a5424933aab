"""gitward.policy (see DESIGN.md section 3)."""

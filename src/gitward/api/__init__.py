"""gitward.api (see DESIGN.md section 3)."""

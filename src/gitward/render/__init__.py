"""gitward.render (see DESIGN.md section 3)."""

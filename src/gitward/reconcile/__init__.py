"""gitward.reconcile (see DESIGN.md section 3)."""

"""gitward.appview: what the API and the pages show of an app, built without the control loop (L1)."""

from gitward.appview.summary import invalid_summary, status_event, summary_of

__all__ = ["invalid_summary", "status_event", "summary_of"]

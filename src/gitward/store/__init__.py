"""gitward.store: persistence (SQLite by default, PostgreSQL via a URL); see DESIGN.md section 3."""

from gitward.store.schema import StoreVersionError
from gitward.store.store import Store, StoreClosed

__all__ = ["Store", "StoreClosed", "StoreVersionError"]

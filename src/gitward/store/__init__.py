"""gitward.store: persistence (SQLite by default, PostgreSQL via a URL); see docs/architecture.md, layers."""

from gitward.store.schema import StoreVersionError
from gitward.store.store import Store, StoreClosed

__all__ = ["Store", "StoreClosed", "StoreVersionError"]

"""Recently accepted webhook deliveries, so that a replayed one is answered without doing any work.

Why: hosts redeliver (a retry after a slow answer, a "redeliver" button), and whoever saw a signed
request can send it again; either way it carries nothing new. A delivery repeats an earlier one of
the same receiver when it has the same delivery id (the header its host sets for that purpose) or,
when its body names the commits it announces, the same body: two pushes never share such a body. A
body that names no commit (``generic``'s ``{"repository": ...}``) is the same for every push, so it
is never taken for a replay by its body alone, or the second push would be lost.

Bounded: at most ``max_entries`` keys (the oldest dropped first), each remembered for ``window``
seconds from the delivery that first carried it; keys are digests, so a long header costs nothing.
Only authenticated deliveries may be remembered (the route checks the signature first), so an
unsigned or forged request can never make a later real one look like a replay.
Deliberately not here: signatures and payload parsing (``webhooks``).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

WINDOW_SECONDS = 600.0
MAX_ENTRIES = 4096

# Per receiver type: the headers that name one delivery. Not headers that name the hook itself
# (Bitbucket's X-Hook-UUID, GitLab's X-Gitlab-Webhook-UUID): every delivery of a hook carries those.
DELIVERY_HEADERS: dict[str, tuple[str, ...]] = {
    "github": ("x-github-delivery",),
    "gitlab": ("idempotency-key",),
    "gitea": ("x-gitea-delivery", "x-forgejo-delivery"),
    "bitbucket": ("x-request-uuid", "x-request-id"),
    "generic": ("x-gitward-delivery",),
}


def delivery_keys(
    receiver: str, kind: str, headers: Mapping[str, str], body: bytes, *, names_commits: bool
) -> list[bytes]:
    """The keys under which this delivery is remembered: its delivery ids, and its body when the
    body names the commits it announces (``names_commits``)."""
    parts = [f"id\0{name}\0{headers[name]}".encode() for name in DELIVERY_HEADERS[kind] if headers.get(name)]
    if names_commits:
        parts.append(b"body\0" + hashlib.sha256(body).digest())
    return [hashlib.sha256(receiver.encode() + b"\0" + part).digest() for part in parts]


class RecentDeliveries:
    """Delivery keys seen within the last ``window`` seconds; at most ``max_entries`` of them."""

    def __init__(
        self,
        *,
        window: float = WINDOW_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.max_entries = max_entries
        self._clock = clock
        self._expiry: OrderedDict[bytes, float] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._expiry)

    def repeated(self, keys: Iterable[bytes]) -> bool:
        """True when any of ``keys`` was remembered within the window; otherwise remembers them all.

        A repeat does not extend the window: it is counted from the delivery that did the work."""
        now = self._clock()
        self._expire(now)
        wanted = list(keys)
        if any(key in self._expiry for key in wanted):
            return True
        for key in wanted:
            self._expiry[key] = now + self.window
            if len(self._expiry) > self.max_entries:
                self._expiry.popitem(last=False)
        return False

    def _expire(self, now: float) -> None:
        while self._expiry:
            key, expiry = next(iter(self._expiry.items()))
            if expiry > now:
                return
            del self._expiry[key]

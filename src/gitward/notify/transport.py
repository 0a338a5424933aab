"""POSTing one request with aiohttp, mapping every way of getting no answer to a ``DeliveryError``.

aiohttp because the engine already depends on it (``cluster/senders.py``) and it is asyncio-native:
a delivery waits on the engine's event loop without a thread. One session (connection pool) serves
every target of the process. Errors name the kind of failure (refused, timed out, TLS), never the
URL: a Slack or Teams URL is itself the secret.

Deliberately not here: retries and what counts as success (``delivery``).
"""

from __future__ import annotations

import aiohttp

from gitward.notify.message import Request
from gitward.notify.secrets import DeliveryError

_MAX_ANSWER = 64 * 1024  # of a body nobody reads; the connection is reused once it is drained


class Transport:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=32, limit_per_host=4)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def post(self, request: Request, timeout: float) -> tuple[int, str | None]:  # noqa: ASYNC109
        """``timeout`` bounds the whole request, enforced by aiohttp's own ``ClientTimeout``."""
        session = self._open()
        try:
            async with session.post(
                request.url,
                data=request.body,
                headers=dict(request.headers),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as answer:
                await answer.content.read(_MAX_ANSWER)
                return answer.status, answer.headers.get("Retry-After")
        except TimeoutError:
            raise DeliveryError(f"no answer within {timeout:g}s", retry=True) from None
        except aiohttp.ClientSSLError as exc:
            raise DeliveryError(f"TLS failed ({type(exc).__name__})", retry=True) from None
        except aiohttp.ClientConnectorError:
            raise DeliveryError("connection failed", retry=True) from None
        except (aiohttp.InvalidURL, ValueError):
            raise DeliveryError("the target's URL cannot be used") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"no answer ({type(exc).__name__})", retry=True) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

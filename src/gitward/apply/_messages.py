"""Turning API refusals into messages a user can act on, with Secret values removed.

The API server quotes rejected values back ("Invalid value: ..."), which for a Secret would leak the
secret into the app's status, events and logs. Every message apply reports goes through
``safe_message``: it removes the values the manifest carries (``diff.masking``) and, for Secrets,
any quoted invalid value at all (the server may quote a value in a form we cannot predict).
Conflicts with other field managers (HTTP 409) name those managers.

Deliberately not here: the general redaction of objects for display (see ``diffview``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gitward.core.errors import ClusterError
from gitward.core.kinds import SECRET_KINDS
from gitward.diff.masking import redact_text, secret_values

MASK = "***"
_QUOTED_VALUE = re.compile(r'(Invalid value: )("(?:[^"\\]|\\.)*"|\S+)')
_CONFLICT_MANAGER = re.compile(r'conflicts? with "([^"]+)"')
_MAX_MESSAGE = 2000


def redact(message: str, obj: Mapping[str, Any]) -> str:
    """``message`` with every Secret value of ``obj`` (and any quoted invalid value) replaced."""
    if obj.get("kind") not in SECRET_KINDS:
        return message
    message = redact_text(message, secret_values(obj), mask=MASK)
    return _QUOTED_VALUE.sub(lambda m: m.group(1) + MASK, message)


def conflict_managers(message: str) -> list[str]:
    """Field managers named in an apply conflict message, in order, without repeats."""
    return list(dict.fromkeys(_CONFLICT_MANAGER.findall(message)))


def safe_message(error: BaseException, obj: Mapping[str, Any]) -> str:
    """The API's message for a failed request on ``obj``, redacted and capped, conflicts explained."""
    text = str(error) or type(error).__name__
    if isinstance(error, ClusterError) and error.status == 409:
        managers = conflict_managers(text)
        if managers:
            text = (
                f"conflict with field manager(s) {', '.join(managers)}: {text} "
                "(sync with force to take ownership of these fields)"
            )
    text = redact(text, obj)
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"

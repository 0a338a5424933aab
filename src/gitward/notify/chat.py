"""Bodies for webhooks: gitward's signed JSON, Slack-compatible and Microsoft Teams messages.

- ``webhook``: gitward's own JSON document (fields listed in the README, "Notifications"), signed with
  ``X-Gitward-Signature: sha256=<hex HMAC-SHA256 of the body>`` under the target's secret, the same
  header a generic Receiver checks, so one gitward can notify another. ``X-Gitward-Delivery`` is the
  message's id (the same on every retry, for de-duplication) and ``X-Gitward-Event`` its trigger.
- ``slack``: ``{"text": ...}``, what Slack's incoming webhooks document and Mattermost and Rocket.Chat
  accept too; ``&``, ``<`` and ``>`` are escaped as Slack's message formatting asks, the link is
  Slack's ``<url|label>``.
- ``teams``: an Adaptive Card inside a ``message`` (Teams' Workflows webhooks), or a legacy
  ``MessageCard`` (Office 365 connectors), as Microsoft documents them.

Deliberately not here: where secrets are read from (``secrets``), retrying (``delivery``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from gitward.core.redact import redact_url
from gitward.model.notification import SlackTarget, TeamsTarget, WebhookTarget
from gitward.notify.message import USER_AGENT, Message, Request, rfc3339
from gitward.notify.secrets import TargetSecrets
from gitward.notify.template import TITLES

SIGNATURE_HEADER = "X-Gitward-Signature"
_JSON = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
_TONES = {"SyncSucceeded": "good", "DriftHealed": "good", "OutOfSync": "warning"}  # anything else: bad
_CARD_COLOURS = {"good": "Good", "warning": "Warning", "bad": "Attention"}  # Adaptive Card colours
_THEME_COLOURS = {"good": "2EB67D", "warning": "ECB22E", "bad": "E01E5A"}  # MessageCard themeColor


def webhook_document(message: Message) -> dict[str, Any]:
    event = message.event
    return {
        "id": message.id,
        "notification": message.notification,
        "trigger": event.trigger,
        "time": rfc3339(event.time),
        "app": event.app,
        "project": event.project,
        "cluster": event.cluster,
        "namespace": event.namespace,
        "repoURL": redact_url(event.repo_url),
        "revision": event.revision,
        "commit": event.commit,
        "sync": event.sync,
        "health": event.health,
        "operation": {"phase": event.phase, "initiator": event.initiator} if event.phase else None,
        "message": event.message,
        "text": message.text,
        "link": message.link or None,
    }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_request(target: WebhookTarget, message: Message, secrets: TargetSecrets | None = None) -> Request:
    secrets = secrets or TargetSecrets(target)
    body = orjson.dumps(webhook_document(message))
    secret = secrets.get("secret_file")
    url = target.url or secrets.url()
    headers = {
        **_JSON,
        SIGNATURE_HEADER: sign(secret, body),
        "X-Gitward-Delivery": message.id,
        "X-Gitward-Event": message.event.trigger,
    }
    return Request(url=url, headers=headers, body=body)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_request(target: SlackTarget, message: Message, secrets: TargetSecrets | None = None) -> Request:
    text = _slack_escape(message.text)
    if message.link:
        text += f"\n<{message.link}|{_slack_escape(message.event.app)}>"
    url = (secrets or TargetSecrets(target)).url()
    return Request(url=url, headers=_JSON, body=orjson.dumps({"text": text}))


def _facts(message: Message) -> list[tuple[str, str]]:
    event = message.event
    facts = [("Application", event.app), ("Project", event.project), ("Sync", event.sync)]
    facts += [("Health", event.health)]
    if event.commit:
        facts.append(("Commit", event.commit))
    return facts


def adaptive_card(message: Message) -> dict[str, Any]:
    event = message.event
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": f"{event.app}: {TITLES.get(event.trigger, event.trigger)}",
                "weight": "Bolder",
                "size": "Medium",
                "color": _CARD_COLOURS[_TONES.get(event.trigger, "bad")],
                "wrap": True,
            },
            {"type": "TextBlock", "text": message.text, "wrap": True},
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(message)]},
        ],
    }
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in gitward", "url": message.link}]
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}


def message_card(message: Message) -> dict[str, Any]:
    event = message.event
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": f"{event.app}: {TITLES.get(event.trigger, event.trigger)}",
        "themeColor": _THEME_COLOURS[_TONES.get(event.trigger, "bad")],
        "title": f"{event.app}: {TITLES.get(event.trigger, event.trigger)}",
        "text": message.text,
        "sections": [{"facts": [{"name": k, "value": v} for k, v in _facts(message)]}],
    }
    if message.link:
        card["potentialAction"] = [
            {
                "@type": "OpenUri",
                "name": "Open in gitward",
                "targets": [{"os": "default", "uri": message.link}],
            }
        ]
    return card


def teams_request(target: TeamsTarget, message: Message, secrets: TargetSecrets | None = None) -> Request:
    document = adaptive_card(message) if target.format == "adaptiveCard" else message_card(message)
    url = (secrets or TargetSecrets(target)).url()
    return Request(url=url, headers=_JSON, body=orjson.dumps(document))

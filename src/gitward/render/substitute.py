"""``${VAR}`` substitution in rendered manifests, Flux postBuild style.

Forms: ``${VAR}`` (replaced when VAR is known), ``${VAR:=default}`` and ``${VAR:-default}`` (the
default when VAR is unknown), ``$${VAR}`` (an escape: becomes the literal ``${VAR}``). A variable
that is unknown and has no default is left as written, so a typo shows up in the diff instead of
silently becoming an empty string. Names are ``[A-Za-z_][A-Za-z0-9_]*``.

It runs on string values of the parsed manifests only, never on keys and never on text that is
parsed again, so a value cannot inject YAML structure. Substitution is off when no variables are
given (then ``$${VAR}`` is left alone too).

Deliberately not here: shell-like operators beyond defaults, reading variables from ConfigMaps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PATTERN = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::([=-])([^}]*))?\}")


def substitute_text(text: str, variables: Mapping[str, str]) -> str:
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        escaped, name, operator, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        if name in variables:
            return variables[name]
        if operator is not None:
            return str(default)
        return match.group(0)

    return _PATTERN.sub(replace, text)


def _substitute_value(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return substitute_text(value, variables)
    if isinstance(value, dict):
        return {key: _substitute_value(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute_value(item, variables) for item in value]
    return value


def substitute_manifests(
    manifests: list[dict[str, Any]], variables: Mapping[str, str]
) -> list[dict[str, Any]]:
    """New manifests with every string value substituted; the input is not modified."""
    if not variables:
        return manifests
    return [_substitute_value(manifest, variables) for manifest in manifests]

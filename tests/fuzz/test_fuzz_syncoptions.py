"""Fuzzing the sync-option and annotation parsers (``model/syncpolicy.py``, ``plan/annotations.py``,
``plan/hooks.py``, ``plan/order.py``; docs/reliability.md row 17).

Option strings and annotation values are generated from the grammar's own pieces (known and unknown
names in every case, values, '=', ',', whitespace, digits of other scripts) and from any text.
Properties: each parser accepts exactly the documented grammar, gives the documented values, and
refuses anything else with its own error (ValueError or ValidationError) naming the input; a later
annotation overrides an earlier one option by option; an object's options written as a list read
back to the same options; ``sync_order`` is a permutation of its input in (phase, wave, kind, name)
order, or refuses exactly when an object's annotations do.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from fuzzkit import outcome
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError as ModelError

from gitward.core.errors import ValidationError
from gitward.core.keys import ResourceKey
from gitward.model.syncpolicy import BOOL_OPTIONS, CHOICE_OPTIONS, SyncPolicy, parse_options
from gitward.plan.annotations import ObjectOptions, options_of, wave_of
from gitward.plan.hooks import DeletePolicy, HookPhase, hook_of
from gitward.plan.order import phase_of, sync_order
from gitward.plan.syncplan import order_key

pytestmark = pytest.mark.fuzz

SPACES = st.sampled_from(["", "", " ", "  ", "\t"])
APP_NAMES = [*BOOL_OPTIONS, *CHOICE_OPTIONS, "createNamespace", "Unknown", "", "Prune Last"]
APP_VALUES = ["true", "false", "TRUE", "False", "yes", "1", "", "foreground", "Background", "orphan", "x=y"]
app_entries = st.builds(
    "{}{}{}{}{}{}".format,
    SPACES,
    st.sampled_from(APP_NAMES),
    SPACES,
    st.sampled_from(["=", "=", "", "=="]),
    SPACES,
    st.sampled_from(APP_VALUES),
) | st.text(max_size=20)


def expected_app_options(entries: list[str]) -> dict[str, str] | None:
    """The documented grammar of ``syncPolicy.options``: ``Name=value`` with a known name (exact
    case), a boolean written true/false or a listed choice (any case), spaces around either part,
    one value per name."""
    out: dict[str, str] = {}
    for entry in entries:
        match = re.fullmatch(r"\s*([^=]*?)\s*=\s*(.*?)\s*", entry, re.S)
        if match is None or not match.group(1):
            return None
        name, value = match.group(1), match.group(2).lower()
        allowed = ("true", "false") if name in BOOL_OPTIONS else CHOICE_OPTIONS.get(name, ())
        if value not in allowed or out.get(name, value) != value:
            return None
        out[name] = value
    return out


@given(st.lists(app_entries, max_size=5))
@example(["CreateNamespace=true", "CreateNamespace=TRUE"])
@example(["Prune=true", "Prune=false"])
def test_app_sync_options_accept_exactly_the_grammar(entries: list[str]) -> None:
    parsed, error = outcome(lambda: parse_options(tuple(entries)), ValueError)
    expected = expected_app_options(entries)
    if parsed is None and expected is not None:
        # well formed, but a value (or pair of values) gitward refuses rather than ignore
        assert "not supported" in str(error), str(error)
    else:
        assert parsed == expected
    if error is not None:
        message = str(error)
        names = [e.partition("=")[0].strip() for e in entries]
        assert any(repr(e) in message for e in entries) or any(
            n and (n in message or repr(n) in message) for n in names
        ), message
    policy, _ = outcome(lambda: SyncPolicy.model_validate({"options": entries}), ModelError)
    assert (policy is None) == (parsed is None)
    if policy is not None and parsed is not None:
        for name, default in BOOL_OPTIONS.items():
            assert policy._flag(name) == (parsed[name] == "true" if name in parsed else default)


KINDS = ["ConfigMap", "Deployment", "Namespace", "CustomResourceDefinition", "Job", "Widget", "Service"]
FIELDS = {
    "Prune": "prune",
    "Delete": "delete",
    "Replace": "replace",
    "Force": "force",
    "ServerSideApply": "server_side_apply",
    "Validate": "validate",
    "SkipDryRunOnMissingResource": "skip_dry_run_on_missing_resource",
    "PruneLast": "prune_last",
}
option_items = st.builds(
    "{}{}{}{}{}".format,
    SPACES,
    st.sampled_from([*FIELDS, "CreateNamespace", "prune", "IgnoreExtraneous", ""]),
    st.sampled_from(["=", "=", "", " = "]),
    st.sampled_from(["true", "false", "True", "FALSE", "maybe", ""]),
    SPACES,
)
option_values = st.lists(option_items, max_size=4).map(",".join) | st.text(max_size=20)
WAVE_TEXT = [
    "0",
    "5",
    "-3",
    "+2",
    " 7 ",
    "1_0",
    "\u0663",
    "\uff17",
    "1.5",
    "",
    "x",
    "9" * 30,
    "--1",
    "0x10",
    str(2**63),
    str(-(2**63)),
]
wave_values = (
    st.sampled_from(WAVE_TEXT) | st.integers(-100, 100) | st.text(max_size=6) | st.none() | st.booleans()
)
HOOK_VALUES = [*(p.value for p in HookPhase), "presync", "PreSnyc", "", "PreSync,PostSync", " Sync , Skip "]
HELM_VALUES = [
    *("pre-install", "post-upgrade", "test", "crd-install", "pre-delete", "pre-instal"),
    *("pre-install,post-install", "crd-install,test", ""),
]
POLICIES = [
    "BeforeHookCreation",
    "HookSucceeded",
    "HookFailed",
    "hook-succeeded",
    "before-hook-creation",
    "Never",
    "",
]

annotations = st.fixed_dictionaries(
    {},
    optional={
        "gitward.dev/sync-wave": wave_values,
        "argocd.argoproj.io/sync-wave": wave_values,
        "helm.sh/hook-weight": wave_values,
        "argocd.argoproj.io/sync-options": option_values,
        "gitward.dev/sync-options": option_values,
        "argocd.argoproj.io/compare-options": st.sampled_from(
            ["IgnoreExtraneous", "ignoreextraneous", "", "X"]
        ),
        "gitward.dev/hook": st.sampled_from(HOOK_VALUES),
        "argocd.argoproj.io/hook": st.sampled_from(HOOK_VALUES),
        "gitward.dev/hook-delete-policy": st.sampled_from(POLICIES),
        "helm.sh/hook": st.sampled_from(HELM_VALUES),
        "helm.sh/hook-delete-policy": st.sampled_from(POLICIES),
    },
)
objects = st.builds(
    lambda kind, name, ns, notes: {
        "apiVersion": "apps/v1" if kind == "Deployment" else "v1",
        "kind": kind,
        "metadata": {"name": name, **({"namespace": ns} if ns else {}), "annotations": notes},
    },
    st.sampled_from(KINDS),
    st.sampled_from(["a", "b", "web", "z-1"]),
    st.sampled_from(["", "team"]),
    annotations,
)


def names_the_object(error: ValidationError, obj: dict[str, Any], annotation: str | None = None) -> bool:
    message = str(error)
    return str(ResourceKey.of(obj)) in message and (annotation is None or annotation in message)


def expected_wave(notes: dict[str, Any]) -> int | str:
    """The wave by the documented rule, or the annotation that must be refused."""
    names = ["gitward.dev/sync-wave", "argocd.argoproj.io/sync-wave"]
    if "helm.sh/hook" in notes:
        names.append("helm.sh/hook-weight")
    for name in names:
        if name in notes:
            text = str(notes[name]).strip()
            fits = re.fullmatch(r"[+-]?[0-9]{1,30}", text) and -(2**63) <= int(text) < 2**63
            return int(text) if fits else name
    return 0


@given(objects)
@example(
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "annotations": {"gitward.dev/sync-wave": "1_0"}},
    }
)  # was wave 10
@example(
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "annotations": {"gitward.dev/sync-wave": "\u0663"}},
    }
)  # was wave 3
def test_a_wave_is_an_integer_in_ascii_digits_read_from_the_first_annotation(obj: dict[str, Any]) -> None:
    notes = obj["metadata"]["annotations"]
    expected = expected_wave(notes)
    wave, error = outcome(lambda: wave_of(obj), ValidationError)
    if isinstance(expected, int):
        assert wave == expected
    else:
        assert error is not None
        assert names_the_object(error, obj, expected)


def expected_options(notes: dict[str, Any]) -> dict[str, bool] | str:
    """The fields the annotations set, by the documented grammar; or the annotation to refuse."""
    values: dict[str, bool] = {}
    for annotation in ("argocd.argoproj.io/sync-options", "gitward.dev/sync-options"):
        if annotation not in notes:
            continue
        mine: dict[str, bool] = {}
        for item in [i.strip() for i in str(notes[annotation] or "").split(",") if i.strip()]:
            name, sep, value = (p.strip() for p in item.partition("="))
            if name not in FIELDS or not sep or value.lower() not in ("true", "false"):
                return annotation
            flag = value.lower() == "true"
            if mine.get(name, flag) != flag:
                return annotation
            mine[name] = flag
        values.update({FIELDS[name]: flag for name, flag in mine.items()})
    for annotation in ("argocd.argoproj.io/compare-options", "gitward.dev/compare-options"):
        items = [i.strip() for i in str(notes.get(annotation) or "").split(",") if i.strip()]
        if any(item != "IgnoreExtraneous" for item in items):
            return annotation
        if items:
            values["ignore_extraneous"] = True
    return values


@given(objects, st.builds(ObjectOptions, *[st.booleans()] * 9))
def test_object_options_follow_the_grammar_and_the_later_annotation_wins(
    obj: dict[str, Any], defaults: ObjectOptions
) -> None:
    expected = expected_options(obj["metadata"]["annotations"])
    got, error = outcome(lambda: options_of(obj, defaults=defaults), ValidationError)
    if isinstance(expected, str):
        assert error is not None
        assert names_the_object(error, obj, expected)
    elif error is not None:
        # well formed, but a value gitward refuses rather than parse and not do (ServerSideApply=false,
        # Delete=true: the module docstring of plan/annotations.py)
        assert names_the_object(error, obj)
        assert re.search(r"sync option \w+=(true|false): ", str(error)), str(error)
    else:
        assert got == dataclasses.replace(defaults, **expected)


@given(st.builds(ObjectOptions, *[st.booleans()] * 9))
def test_object_options_written_as_a_list_read_back_the_same(options: ObjectOptions) -> None:
    assert ObjectOptions.from_list(options.to_list()) == options


@given(objects)
def test_hooks_take_only_known_phases_events_and_policies(obj: dict[str, Any]) -> None:
    notes = obj["metadata"]["annotations"]
    hook, error = outcome(lambda: hook_of(obj), ValidationError)
    if error is not None:
        assert names_the_object(error, obj)
        assert re.search(r"unknown value '.*' \(allowed: ", str(error))
        return
    own = next((notes[n] for n in ("gitward.dev/hook", "argocd.argoproj.io/hook") if n in notes), None)
    if own is not None:
        assert hook is not None
        phases = [p.strip() for p in own.split(",") if p.strip()]
        assert [p.value for p in hook.phases] == list(dict.fromkeys(phases)) or (
            not phases and hook.phases == (HookPhase.SYNC,)
        )
        assert not hook.helm
    elif "helm.sh/hook" in notes:
        events = [e.strip() for e in notes["helm.sh/hook"].split(",") if e.strip()]
        if events and set(events) == {"crd-install"}:
            assert hook is None
        else:
            assert hook is not None
            assert hook.helm
            assert hook.helm_events == tuple(dict.fromkeys(events))
    else:
        assert hook is None
    if hook is not None:
        assert all(isinstance(p, DeletePolicy) for p in hook.delete_policies)
        assert hook.delete_policies


@given(st.lists(objects, max_size=8))
def test_sync_order_is_a_permutation_in_plan_order_or_a_refusal(manifests: list[dict[str, Any]]) -> None:
    ordered, error = outcome(lambda: sync_order(manifests), ValidationError)
    if error is not None:
        assert any(outcome(lambda m=m: (wave_of(m), hook_of(m)), ValidationError)[1] for m in manifests)
        return
    assert ordered is not None
    assert sorted(map(repr, ordered)) == sorted(map(repr, manifests))
    keys = [order_key(phase_of(m), wave_of(m), ResourceKey.of(m)) for m in ordered]
    assert keys == sorted(keys)

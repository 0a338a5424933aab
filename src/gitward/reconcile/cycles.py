"""``dependsOn`` cycles: found when the configuration is loaded, and again before a sync.

Apps in a cycle would wait for each other forever, each reporting "waiting for dependency"; that
reads like a slow dependency, not a mistake in the configuration. So an app on a cycle is refused
with the cycle spelled out (``a -> b -> c -> a``). Apps that only depend on a cycle are not refused:
they wait, and their message names the dependency that is missing.

The check runs at load over every app, and before each sync over the apps reachable from the one
syncing, so a cycle closed by a child application (app-of-apps) is refused as well.

Deliberately not here: waiting for dependencies to be ready (``dependencies``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from gitward.core.errors import ValidationError
from gitward.model import LoadedConfig, ObjectError

#: A longer cycle is shown by its first names and its length.
SHOWN = 12


def describe(cycle: Sequence[str]) -> str:
    """``("a", "b")`` -> ``dependsOn cycle: a -> b -> a``."""
    names = [*cycle[:SHOWN], f"... ({len(cycle)} apps)"] if len(cycle) > SHOWN else list(cycle)
    return "dependsOn cycle: " + " -> ".join([*names, cycle[0]])


def dependency_cycles(graph: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Every app on a cycle, with one cycle through it (starting at the app). Dependencies missing
    from ``graph`` are leaves. The strongly connected components first (Tarjan's, iterative: no
    recursion limit on long chains), so the search for a cycle runs only inside a component."""
    out: dict[str, tuple[str, ...]] = {}
    for component in _components(graph):
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        members = set(component)

        def inside(name: str, members: set[str] = members) -> list[str]:
            return [d for d in graph.get(name, ()) if d in members]

        for name in sorted(component):
            if name in out:
                continue  # on a cycle found for another member already
            cycle = cycle_through(name, inside)
            if cycle is not None:
                for i, member in enumerate(cycle):
                    out.setdefault(member, cycle[i:] + cycle[:i])
    return out


def _components(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> Iterator[str]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        return iter(sorted(d for d in graph[node] if d in graph))

    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, visit(root))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    work.append((child, visit(child)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while not component or component[-1] != node:
                    component.append(stack.pop())
                    on_stack.discard(component[-1])
                out.append(component)
    return out


def cycle_through(name: str, dependencies: Callable[[str], Iterable[str] | None]) -> tuple[str, ...] | None:
    """A cycle that passes through ``name``, walking ``dependencies`` (None: not an app) from it."""
    parents: dict[str, str] = {}
    frontier = [name]
    seen = {name}
    while frontier:
        current = frontier.pop()
        for dep in sorted(dependencies(current) or ()):
            if dep == name:
                chain = [current]
                while chain[-1] != name:
                    chain.append(parents[chain[-1]])
                return tuple(reversed(chain))
            if dep not in seen:
                seen.add(dep)
                parents[dep] = current
                frontier.append(dep)
    return None


def check_cycles(config: LoadedConfig) -> LoadedConfig:
    """The config without the apps on a ``dependsOn`` cycle, each refused with its cycle named."""
    cycles = dependency_cycles({app.name: app.dependencies for app in config.applications})
    if not cycles:
        return config
    refused = tuple(ObjectError("Application", name, describe(cycles[name])) for name in sorted(cycles))
    kept = tuple(app for app in config.applications if app.name not in cycles)
    return dataclasses.replace(config, applications=kept, errors=config.errors + refused)


def refuse_cycle(name: str, dependencies: Callable[[str], Iterable[str] | None]) -> None:
    """Raise ``ValidationError`` naming the cycle when ``name`` is on one."""
    cycle = cycle_through(name, dependencies)
    if cycle is not None:
        raise ValidationError(describe(cycle), reason="DependencyCycle")

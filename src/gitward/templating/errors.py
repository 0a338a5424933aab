"""The one error of the template languages.

A ``TemplateError`` names the construct it refuses or the parameter it could not resolve; it never
repeats a parameter's value (a value may come from a file in Git that holds anything). It is a
``ValueError`` so a pydantic validator that parses a template reports it as a field problem.
"""

from __future__ import annotations


class TemplateError(ValueError):
    """A template that cannot be parsed, uses a construct gitward does not run, or fails to execute."""

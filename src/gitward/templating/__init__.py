"""gitward.templating: the template languages of ApplicationSets, pure and stdlib-only.

Argo CD's default ``{{param}}`` syntax (``fast``) and a subset of Go's ``text/template`` with the
common Sprig functions (``golex``, ``goparse``, ``goexec``, ``gofuncs``, ``goformat``), written for
gitward: nothing is evaluated as code, every construct outside the subset is refused by name, and
execution is bounded (output size, range iterations). ``Renderer`` (``render``) is the entry point.

It sits below ``model`` so an ApplicationSet's templates are checked when the config is loaded.
"""

from gitward.templating.errors import TemplateError
from gitward.templating.render import Renderer, check_options, parse_checked

__all__ = ["Renderer", "TemplateError", "check_options", "parse_checked"]

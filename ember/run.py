"""Run an unchanged PyTorch program on ember.

Usage::

    python -m ember.run script.py [args ...]
    python -m ember.run -m package.module [args ...]

Inside that process ``import torch`` gives ``ember``, ``torch.nn`` gives ``ember.nn``,
``torch.X.Y`` gives ``ember.X.Y``, and ``torchvision`` (with its submodules) gives
``ember.vision``. The script then runs as ``__main__`` with ``sys.argv`` set to the
script and its arguments, as ``python script.py [args ...]`` would run it.

The redirection is an import hook (a meta-path finder placed before every other one),
so the real PyTorch is never imported even where it is installed. A torch module that
ember does not provide raises ModuleNotFoundError naming both the torch module and the
ember module it was mapped to.

Child processes started with the ``spawn`` method (``torch.multiprocessing`` programs such
as pytorch/examples' mnist_hogwild, DataLoader workers under spawn) are fresh interpreters
that re-import the script and its modules: their command line installs the hook first, so
they see ember too. Forked children inherit it. (The ``forkserver`` method is not covered:
its server imports the script before any module of ours could run.)
"""
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys

__all__ = ["install", "uninstall", "main"]

# top-level package imported by programs -> the ember package that stands in for it
ALIASES = {"torch": "ember", "torchvision": "ember.vision"}


def _target_name(fullname):
    """The ember module name for `fullname`, or None when it is not redirected."""
    root, dot, rest = fullname.partition(".")
    if root not in ALIASES:
        return None
    return ALIASES[root] + dot + rest


class _AliasLoader(importlib.abc.Loader):
    """Loads an alias by importing its ember module and handing that module back.

    The alias and the ember module are one module object, so `torch.nn.Linear is
    ember.nn.Linear` and state is shared whichever name a program imports.
    """

    def __init__(self, alias, target):
        self.alias = alias
        self.target = target

    def create_module(self, spec):
        try:
            module = importlib.import_module(self.target)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if self.target == missing or self.target.startswith(missing + "."):
                detail = "" if missing == self.target else f" (no module '{missing}')"
                raise ModuleNotFoundError(
                    f"No module named '{self.alias}': ember.run maps it to '{self.target}', "
                    f"which isn't available in ember{detail}", name=self.alias) from None
            raise
        self._target_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamped the alias's spec on the shared module object; give the
        # ember module its own spec back so its relative imports keep resolving in ember.
        module.__spec__ = self._target_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds `torch`, `torch.*`, `torchvision`, `torchvision.*` and maps them to ember."""

    def find_spec(self, fullname, path=None, target=None):
        ember_name = _target_name(fullname)
        if ember_name is None:
            return None
        is_package = "." not in fullname
        return importlib.util.spec_from_loader(fullname, _AliasLoader(fullname, ember_name),
                                               is_package=is_package)


_FINDER = _AliasFinder()

# the child's first statement under the spawn start method
_CHILD_PREFIX = "import ember.run; ember.run.install(); "


def _spawn_command_line(**kwds):
    """multiprocessing.spawn.get_command_line, with the child installing the hook before
    it unpickles its work or re-imports the parent's __main__ (which imports torch)."""
    cmd = _spawn_command_line.original(**kwds)
    if "-c" in cmd:
        i = cmd.index("-c") + 1
        cmd[i] = _CHILD_PREFIX + cmd[i]
    return cmd


def install():
    """Redirect torch / torchvision imports to ember in this process and in the processes
    it spawns (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    import multiprocessing.spawn as spawn
    if spawn.get_command_line is not _spawn_command_line:
        _spawn_command_line.original = spawn.get_command_line
        spawn.get_command_line = _spawn_command_line


def uninstall():
    """Undo `install` and forget the aliases already imported."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    import multiprocessing.spawn as spawn
    if spawn.get_command_line is _spawn_command_line:
        spawn.get_command_line = _spawn_command_line.original
    for name in list(sys.modules):
        ember_name = _target_name(name)
        if ember_name is not None and sys.modules[name] is sys.modules.get(ember_name):
            del sys.modules[name]


_USAGE = "usage: python -m ember.run script.py [args ...]\n       python -m ember.run -m module [args ...]"


def main(argv=None):
    """Run the program named in `argv` (default: ``sys.argv[1:]``) with ember as torch."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or (argv[0] == "-m" and len(argv) < 2):
        print(_USAGE, file=sys.stderr)
        return 2
    install()
    if argv[0] == "-m":
        module, args = argv[1], argv[2:]
        sys.argv = [module] + args
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    script, args = argv[0], argv[1:]
    sys.argv = [script] + args
    # as `python script.py` does: the script's own directory replaces the working
    # directory that `python -m` put first on the path
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())

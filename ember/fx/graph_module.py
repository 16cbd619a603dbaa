"""torch.fx.graph_module: a Module whose forward is generated from a Graph.

``GraphModule(root, graph)`` copies from `root` only what the graph reads (the submodules
of call_module nodes, the parameters/buffers/tensors of get_attr nodes, creating plain
Modules for the intermediate path), then writes ``forward`` from the graph's Python
source (``gm.code``). Each instance gets a class of its own (named after the traced
class), so that setting ``forward`` on recompile touches no other instance.
"""
import copy
import warnings

from ..nn import Module
from .graph import Graph, _exec_with_source

__all__ = ["GraphModule"]

# the layers to_folder rebuilds from their repr (their repr is a constructor call)
_SAFE_REPRS = frozenset({"Linear", "Conv1d", "Conv2d", "Conv3d", "BatchNorm1d",
                         "BatchNorm2d", "BatchNorm3d"})


def _copy_attr(from_module, to_module, target):
    """Copy attribute `target` ('a.b.c') of from_module onto to_module, making plain
    Modules for missing intermediate levels; tensors that are not parameters become
    buffers."""
    from .._tensor import Tensor
    from ..nn import Parameter
    *prefix, field = target.split(".")
    for item in prefix:
        f = getattr(from_module, item)
        t = getattr(to_module, item, None)
        if f is t:   # already installed (a parent copied whole)
            return
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        from_module, to_module = f, t
    orig = getattr(from_module, field)
    if isinstance(orig, Tensor) and not isinstance(orig, Parameter):
        to_module.register_buffer(field, orig)
    else:
        setattr(to_module, field, orig)


def _assign_attr(from_obj, to_module, target):
    from .._tensor import Tensor
    from ..nn import Parameter
    *prefix, field = target.split(".")
    for item in prefix:
        t = getattr(to_module, item, None)
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        to_module = t
    if isinstance(from_obj, Tensor) and not isinstance(from_obj, Parameter):
        to_module.register_buffer(field, from_obj)
    else:
        setattr(to_module, field, from_obj)


def _addindent(s, num_spaces):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    # blank lines stay empty
    return first + "\n" + "\n".join(num_spaces * " " + line if line.strip() else ""
                                     for line in lines)


class GraphModule(Module):
    """A Module made from a Graph (see the module docstring). ``graph`` (assigning it
    recompiles), ``code`` (the generated source), ``recompile()``, ``print_readable()``,
    ``add_submodule``/``delete_submodule``/``delete_all_unused_submodules``."""

    def __new__(cls, *args, **kwargs):
        # a class per instance: recompile sets `forward` on it
        for t in cls.__mro__:
            c = t.__qualname__.split(".")[-1]
            if c != "GraphModuleImpl":
                cls = t
                break

        class GraphModuleImpl(cls):
            pass

        return super().__new__(GraphModuleImpl)

    def __init__(self, root, graph, class_name="GraphModule"):
        super().__init__()
        self.__class__.__name__ = class_name
        if isinstance(root, Module):
            if hasattr(root, "training"):
                self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(f"Node {node} referenced target {node.target} but "
                                           "that target was not provided in ``root``!")
                    _assign_attr(root[node.target], self, node.target)
        else:
            raise RuntimeError("Unsupported type " + str(root) + " passed for root!")
        self.graph = graph
        self._tracer_cls = graph._tracer_cls
        self.meta = getattr(root, "meta", {}) if isinstance(root, Module) else {}

    @property
    def graph(self):
        """The Graph this module runs; assigning one recompiles forward."""
        return self._graph

    @graph.setter
    def graph(self, g):
        if not isinstance(g, Graph):
            raise AssertionError(f"Expected a Graph instance, but got {type(g)}")
        self.__dict__["_graph"] = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self):
        """The Python source of forward, generated from the graph."""
        if not hasattr(self, "_code"):
            raise RuntimeError("Code has not been generated! Please report a bug to PyTorch")
        return self._code

    def recompile(self):
        """Regenerate forward from the graph (after editing it); the PythonCode."""
        python_code = self._graph.python_code(root_module="self")
        self.__dict__["_code"] = python_code.src
        cls = type(self)
        globals_ = dict(python_code.globals)
        _exec_with_source(python_code.src, globals_)
        cls.forward = globals_["forward"]
        return python_code

    def print_readable(self, print_output=True, include_stride=False, include_device=False,
                       colored=False):
        """forward as a class body, with shape annotations where ShapeProp left them."""
        out = self._readable(self.__class__.__name__)
        if print_output:
            print(out)
        return out

    def _readable(self, module_name):
        src = self._graph.python_code(root_module="self", verbose=True).src.lstrip("\n")
        text = _addindent(f"class {module_name}(torch.nn.Module):\n" + src, 4)
        subs = [""]
        for name, child in self.named_children():
            if isinstance(child, GraphModule):
                subs.append(child._readable(name))
        return text + _addindent("\n".join(subs), 4)

    def __str__(self):
        return "\n".join([Module.__repr__(self), self._code,
                          "# To see more debug info, please use "
                          "`graph_module.print_readable()`"])

    # ---- submodules ----
    def add_submodule(self, target, m):
        """Install module `m` at 'a.b.c', making plain Modules on the way; False when an
        existing attribute on the path is not a Module."""
        *prefix, field = target.split(".")
        mod = self
        for item in prefix:
            sub = getattr(mod, item, None)
            if sub is None:
                sub = Module()
                setattr(mod, item, sub)
            if not isinstance(sub, Module):
                return False
            mod = sub
        mod.add_module(field, m)
        return True

    def delete_submodule(self, target):
        """Delete the submodule at 'a.b.c'; False when there is none."""
        atoms = target.split(".")
        path, target_submod = atoms[:-1], atoms[-1]
        mod = self
        for item in path:
            if not hasattr(mod, item):
                return False
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                return False
        if not hasattr(mod, target_submod):
            return False
        if not isinstance(getattr(mod, target_submod), Module):
            return False
        delattr(mod, target_submod)
        return True

    def delete_all_unused_submodules(self):
        """Delete the submodules no call_module/get_attr node reaches (their parents
        kept)."""
        used = []
        for node in self._graph.nodes:
            if node.op in ("call_module", "get_attr"):
                fullpath = node.target.split(".")
                for i in range(1, len(fullpath) + 1):
                    used.append(".".join(fullpath[:i]))
                if node.op == "call_module":
                    try:
                        submod = self.get_submodule(node.target)
                        for name, _ in submod.named_modules():
                            if name:
                                used.append(node.target + "." + name)
                    except AttributeError:
                        pass
        to_delete = [name for name, _ in self.named_modules() if name and name not in used]
        for name in to_delete:
            self.delete_submodule(name)

    def to_folder(self, folder, module_name="FxModule"):
        """Write this module as a Python package in `folder`, importable as
        ``from <folder> import <module_name>``: ``module.py`` (a Module class whose
        ``__init__`` rebuilds the submodules, parameters and buffers and whose
        ``forward`` is this graph's code), ``__init__.py`` and ``state_dict.pt``. As in
        PyTorch, Linear/Conv/BatchNorm children are rebuilt from their repr, other
        children are saved whole (``<name>.pt``, loaded with weights_only=False), and
        the weights come from the state dict."""
        import os
        from .. import save
        from .graph import _to_folder_imports
        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        save(self.state_dict(), os.path.join(folder, "state_dict.pt"))
        tab = " " * 4
        python_code = self._graph.python_code(root_module="self")
        lines = ["", "import ember"] + _to_folder_imports(python_code.globals) + [
            "", "from ember.nn import *", f"class {module_name}(ember.nn.Module):",
            f"{tab}def __init__(self):", f"{tab * 2}super().__init__()"]
        saved_whole = []
        for name, module in self.named_children():
            if type(module).__name__ in _SAFE_REPRS and \
                    type(module).__module__.startswith("ember.nn"):
                lines.append(f"{tab * 2}setattr(self, '{name}', {module!r})")
            else:
                path = os.path.join(folder, f"{name}.pt")
                save(module, path)
                saved_whole.append(name)
                flat = repr(module).replace("\r", " ").replace("\n", " ")
                lines.append(f"{tab * 2}setattr(self, '{name}', ember.load(r'{path}', "
                             f"weights_only=False)) # {flat}")
        for name, buf in self._buffers.items():
            if buf is not None:
                lines.append(f"{tab * 2}self.register_buffer('{name}', ember.empty("
                             f"{list(buf.shape)}, dtype={buf.dtype}))")
        for name, param in self._parameters.items():
            if param is not None:
                lines.append(f"{tab * 2}setattr(self, '{name}', ember.nn.Parameter("
                             f"ember.empty({list(param.shape)}, dtype={param.dtype})))")
        if saved_whole:
            warnings.warn(f"Was not able to save the following children modules as reprs -"
                          f"saved as pickled files instead: {saved_whole}")
        lines.append(f"{tab * 2}self.load_state_dict(ember.load(r'"
                     f"{os.path.join(folder, 'state_dict.pt')}'))")
        code = "\n".join(tab + line if line else line for line in python_code.src.split("\n"))
        with open(os.path.join(folder, "module.py"), "w") as f:
            f.write("\n".join(lines) + "\n" + code + "\n")
        with open(os.path.join(folder, "__init__.py"), "w") as f:
            f.write(f"from .module import {module_name}\n")

    # ---- copying and pickling ----
    def __deepcopy__(self, memo):
        # the same class (a DualGraphModule stays one), the attributes deep-copied, the
        # graph copied and recompiled; named 'GraphModule' afterwards, as torch's copy is
        res = type(self).__new__(type(self))
        memo[id(self)] = res
        fake = Module()
        fake.__dict__ = copy.deepcopy(
            {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}, memo)
        GraphModule.__init__(res, fake, copy.deepcopy(self._graph, {}))
        for k, v in fake.__dict__.items():
            res.__dict__.setdefault(k, v)   # what the graph does not read (train_graph ...)
        res.meta = copy.deepcopy(getattr(self, "meta", {}), memo)
        return res

    def __copy__(self):
        res = GraphModule(self, self._graph, self.__class__.__name__)
        res.meta = getattr(self, "meta", {})
        return res

    def __reduce__(self):
        # pickled as its attributes and its generated source (as torch does): the graph is
        # traced again from that source when loaded
        state = {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}
        python_code = self._graph.python_code(root_module="self")
        globals_ = {k: v for k, v in python_code.globals.items()
                    if k not in ("ember", "device", "inf", "nan")}
        return (_rebuild_graph_module, (state, python_code.src, globals_,
                                        self.__class__.__name__))


def _rebuild_graph_module(state, src, globals_, class_name):
    """A pickled GraphModule back: its source run again, traced with every submodule a
    leaf, so the graph is the one that was saved."""
    import math

    import ember
    from ._symbolic_trace import Tracer
    namespace = dict(globals_)
    namespace.update(ember=ember, device=ember.device, inf=math.inf, nan=math.nan)
    _exec_with_source(src, namespace)

    class CodeOnlyModule(Module):
        forward = namespace["forward"]

    holder = CodeOnlyModule.__new__(CodeOnlyModule)
    holder.__dict__.update(state)

    class KeepModules(Tracer):
        def is_leaf_module(self, m, module_qualified_name):
            return True

    graph = KeepModules().trace(holder)
    return GraphModule(holder, graph, class_name)

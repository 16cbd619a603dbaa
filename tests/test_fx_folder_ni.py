"""ember.fx's GraphModule.to_folder and Graph.on_generate_code against torch.fx's: the
same model traced by both, written to folders and imported back (the files, how each
child is rebuilt, the outputs), and the same body transformer installed on both graphs
(the generated code, the outputs, the transformer removed on leaving the context)."""
import importlib.util
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def build(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3, padding=1)
            self.bn = nn.BatchNorm2d(3)
            self.act = nn.GELU()
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
            self.fc = nn.Linear(5, 2)
            self.scale = nn.Parameter(lib.ones(2) * 0.5)
            self.register_buffer("shift", lib.arange(2.0))

        def forward(self, x):
            h = self.act(self.bn(self.conv(x)))
            h = lib.relu(self.fc(self.head(h)))
            return h * self.scale + self.shift

    return Net()


def same_weights(em, tm):
    """Copy ember's parameters and buffers into the torch model."""
    theirs = tm.state_dict()
    for k, v in em.state_dict().items():
        theirs[k].copy_(torch.from_numpy(np.array(v.numpy())))


def import_package(folder, name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])
    pkg = importlib.util.module_from_spec(spec)
    sys.modules[name] = pkg
    try:
        spec.loader.exec_module(pkg)
    finally:
        del sys.modules[name]
    return pkg


def init_lines(folder):
    """How module.py's __init__ rebuilds each attribute: (kind, name) per line."""
    out = []
    for line in open(os.path.join(folder, "module.py")).read().split("\n"):
        line = line.strip()
        if line.startswith("setattr(self, "):
            name = line.split("'")[1]
            kind = "load" if ".load(" in line else "parameter" if "Parameter(" in line \
                else line.split(", ", 1)[1].split("(")[0]
            out.append((kind, name))
        elif line.startswith("self.register_buffer("):
            out.append(("buffer", line.split("'")[1]))
        elif line.startswith("self.load_state_dict("):
            out.append(("state_dict", ""))
    return out


def test_to_folder_matches_torch(tmp_path):
    ember.manual_seed(0)
    em = build(ember).eval()
    tm = build(torch).eval()
    same_weights(em, tm)
    egm, tgm = ember.fx.symbolic_trace(em), torch.fx.symbolic_trace(tm)
    efolder, tfolder = str(tmp_path / "ember_pkg"), str(tmp_path / "torch_pkg")
    with pytest.warns(UserWarning) as ours_warned:
        egm.to_folder(efolder, "MyNet")
    with pytest.warns(UserWarning) as theirs_warned:
        tgm.to_folder(tfolder, "MyNet")
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    assert sorted(os.listdir(efolder)) == sorted(os.listdir(tfolder))
    assert init_lines(efolder) == init_lines(tfolder)
    ours = import_package(efolder, "ember_pkg_ni").MyNet().eval()
    theirs = import_package(tfolder, "torch_pkg_ni").MyNet().eval()
    assert type(ours).__name__ == type(theirs).__name__ == "MyNet"
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 4)).astype(np.float32)
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(ember.tensor(x)).detach().numpy(), expected,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(egm(ember.tensor(x)).detach().numpy(), expected,
                               rtol=1e-5, atol=1e-6)


def test_to_folder_default_name_and_existing_folder(tmp_path):
    gm = ember.fx.symbolic_trace(ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.ReLU()))
    folder = tmp_path / "pkg"
    folder.mkdir()
    gm.to_folder(folder)   # a Path, an existing folder
    model = import_package(str(folder), "ember_pkg_default_ni").FxModule()
    x = ember.randn(3, 2)
    assert ember.equal(model(x), gm(x))


def prepend_double(current):
    """A transformer that runs the previous one, then doubles the input first."""
    def transform(body):
        body = current(body) if current is not None else body
        return ["input = input * 2\n", *body]
    return transform


def test_on_generate_code_matches_torch():
    em = ember.nn.Sequential(ember.nn.Linear(3, 2))
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2))
    same_weights(em, tm)
    egm, tgm = ember.fx.symbolic_trace(em), torch.fx.symbolic_trace(tm)
    plain = egm.code
    x = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    with egm.graph.on_generate_code(prepend_double), \
            tgm.graph.on_generate_code(prepend_double):
        egm.recompile()
        tgm.recompile()
        assert egm.code.replace("ember.", "torch.") == tgm.code
        assert "input = input * 2" in egm.code
        np.testing.assert_allclose(egm(ember.tensor(x)).detach().numpy(),
                                   tgm(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)
        # transformers chain: the new one receives the one installed before
        with egm.graph.on_generate_code(prepend_double):
            egm.recompile()
            assert egm.code.count("input = input * 2") == 2
    egm.recompile()
    assert egm.code == plain
    assert egm.graph._codegen._body_transformer is None

"""ember.fx.experimental.optimization against torch.fx.experimental.optimization: fuse
(conv/linear + batch norm folded), remove_dropout and extract_subgraph on the same models
in both libraries; the generated code, the kept modules and the outputs compared."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.fx.experimental.optimization as topt  # noqa: E402

import ember  # noqa: E402
import ember.fx.experimental.optimization as eopt  # noqa: E402


def build(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(2, 4, 3)
            self.b1 = nn.BatchNorm2d(4)
            self.c2 = nn.Conv1d(4, 4, 1, bias=False)   # a conv without bias
            self.b2 = nn.BatchNorm1d(4)
            self.c3 = nn.Conv2d(4, 4, 1)                # its output read twice: not fused
            self.b3 = nn.BatchNorm2d(4)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(4, 3)
            self.b4 = nn.BatchNorm1d(3)
            self.b5 = nn.BatchNorm1d(3, track_running_stats=False)   # never fused
            self.fc2 = nn.Linear(3, 3)

        def forward(self, x):
            h = self.b1(self.c1(x))
            y = self.c3(h)
            h = self.b3(y) + y
            h = h.flatten(2)
            h = self.b2(self.c2(h)).mean(-1)
            h = self.b4(self.fc(self.drop(h)))
            return self.b5(self.fc2(h))

    return Net()


def copy_weights(em, tm):
    theirs = tm.state_dict()
    for k, v in em.state_dict().items():
        theirs[k].copy_(torch.from_numpy(np.array(v.numpy())))


def trained_pair():
    """The model in both libraries with the same weights and non-trivial running stats."""
    ember.manual_seed(0)
    em, tm = build(ember), build(torch)
    rng = np.random.default_rng(0)
    for m in em.modules():
        if isinstance(m, ember.nn.BatchNorm1d) or isinstance(m, ember.nn.BatchNorm2d):
            if m.track_running_stats:
                m.running_mean.copy_(ember.tensor(rng.standard_normal(m.num_features)
                                                  .astype(np.float32)))
                m.running_var.copy_(ember.tensor(rng.uniform(0.5, 2, m.num_features)
                                                 .astype(np.float32)))
            m.weight.data.copy_(ember.tensor(rng.uniform(0.5, 1.5, m.num_features)
                                             .astype(np.float32)))
    copy_weights(em, tm)
    return em.eval(), tm.eval()


X = np.random.default_rng(3).standard_normal((2, 2, 5, 5)).astype(np.float32)


def outputs(em, tm):
    return em(ember.tensor(X)).detach().numpy(), tm(torch.from_numpy(X)).detach().numpy()


def same_code(egm, tgm):
    assert egm.code.replace("ember.", "torch.") == tgm.code


def test_fuse_matches_torch():
    em, tm = trained_pair()
    before = outputs(em, tm)[0]
    efused, tfused = eopt.fuse(em), topt.fuse(tm)
    same_code(efused, tfused)
    assert [(n, type(m).__name__) for n, m in efused.named_children()] == \
        [(n, type(m).__name__) for n, m in tfused.named_children()]
    ours, theirs = outputs(efused, tfused)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours, before, rtol=1e-4, atol=1e-5)
    # not in place: the original keeps its batch norms
    assert isinstance(em.b1, ember.nn.BatchNorm2d) and em.c1 is not efused.c1


def test_fuse_inplace_and_no_trace():
    em, tm = trained_pair()
    egm, tgm = ember.fx.symbolic_trace(em), torch.fx.symbolic_trace(tm)
    efused = eopt.fuse(egm, inplace=True, no_trace=True)
    tfused = topt.fuse(tgm, inplace=True, no_trace=True)
    same_code(efused, tfused)
    assert (efused.c1 is egm.c1) == (tfused.c1 is tgm.c1)
    ours, theirs = outputs(efused, tfused)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_remove_dropout_matches_torch():
    em, tm = trained_pair()
    egm, tgm = eopt.remove_dropout(em.train()), topt.remove_dropout(tm.train())
    same_code(egm, tgm)
    assert "drop" not in egm.code
    egm.eval()
    tgm.eval()
    ours, theirs = outputs(egm, tgm)   # (b5 normalizes a batch of 2: float noise grows)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_extract_subgraph_matches_torch():
    em, tm = trained_pair()
    results = []
    for lib, opt, m in ((ember, eopt, em), (torch, topt, tm)):
        gm = lib.fx.symbolic_trace(m)
        nodes = list(gm.graph.nodes)
        by_name = {n.name: n for n in nodes}
        inputs = [by_name["x"]]
        inner = [n for n in nodes if n.name in ("c1", "b1", "c3")]
        sub = opt.extract_subgraph(gm, inner, inputs, [by_name["c3"], by_name["b1"]])
        results.append((sub, lib))
    (esub, _), (tsub, _) = results
    same_code(esub, tsub)
    ours = [o.detach().numpy() for o in esub(ember.tensor(X))]
    theirs = [o.detach().numpy() for o in tsub(torch.from_numpy(X))]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_helpers_and_mkldnn_passes():
    em, _ = trained_pair()
    gm = ember.fx.symbolic_trace(em)
    modules = dict(gm.named_modules())
    b1 = next(n for n in gm.graph.nodes if n.name == "b1")
    assert eopt.matches_module_pattern((ember.nn.Conv2d, ember.nn.BatchNorm2d), b1, modules)
    assert not eopt.matches_module_pattern((ember.nn.Linear, ember.nn.BatchNorm2d), b1, modules)
    eopt.replace_node_module(b1, modules, ember.nn.Identity())
    assert isinstance(gm.b1, ember.nn.Identity) and isinstance(modules["b1"], ember.nn.Identity)
    assert ember.fx.experimental.optimization is eopt
    with pytest.raises(NotImplementedError, match="MKLDNN"):
        eopt.optimize_for_inference(em)

"""ember.nn.utils.prune against torch.nn.utils.prune: the pruning tutorial's flow on a
LeNet with torch's weights; deterministic methods (l1, ln, custom, global l1) give torch's
exact masks; random methods the right counts and structure; state-dict keys, hooks,
errors as torch."""
import numpy as np
import pytest
import torch
import torch.nn.utils.prune as tprune

import ember
import ember.nn.utils.prune as eprune

rng = np.random.default_rng(0)


def lenet(lib):
    nn, F = lib.nn, lib.nn.functional

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 3)
            self.conv2 = nn.Conv2d(6, 16, 3)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, int(x.nelement() / x.shape[0]))
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return LeNet()


def twin(build=lenet):
    t = build(torch)
    e = build(ember)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return e, t


def same(e, t):
    np.testing.assert_array_equal(e.detach().cpu().numpy(), t.detach().cpu().numpy())


def masks_of(model):
    return {k: v for k, v in model.state_dict().items() if k.endswith("_mask")}


def test_tutorial_flow_lenet():
    e, t = twin()
    ec, tc = e.conv1, t.conv1
    # random pruning of the weight: only the count can agree
    eprune.random_unstructured(ec, name="weight", amount=0.3)
    tprune.random_unstructured(tc, name="weight", amount=0.3)
    assert [n for n, _ in ec.named_parameters()] == [n for n, _ in tc.named_parameters()]
    assert [n for n, _ in ec.named_buffers()] == [n for n, _ in tc.named_buffers()]
    assert int((ec.weight_mask == 0).sum()) == int((tc.weight_mask == 0).sum()) == 16
    same(ec.weight, ec.weight_orig * ec.weight_mask)
    assert len(ec._forward_pre_hooks) == 1
    # L1 pruning of the bias: the 3 smallest entries, as torch
    eprune.l1_unstructured(ec, name="bias", amount=3)
    tprune.l1_unstructured(tc, name="bias", amount=3)
    same(ec.bias_mask, tc.bias_mask)
    same(ec.bias, tc.bias)
    assert list(ec.state_dict()) == list(tc.state_dict())
    # iterative pruning: structured on top of the random mask, counts and structure
    eprune.ln_structured(ec, name="weight", amount=0.5, n=2, dim=0)
    tprune.ln_structured(tc, name="weight", amount=0.5, n=2, dim=0)
    hook = [h for h in ec._forward_pre_hooks.values() if h._tensor_name == "weight"][0]
    assert isinstance(hook, eprune.PruningContainer)
    names = [type(h).__name__ for h in ec._forward_pre_hooks.values()]
    assert names == [type(h).__name__ for h in tc._forward_pre_hooks.values()]
    assert [type(m).__name__ for m in hook] == ["RandomUnstructured", "LnStructured"]
    channels_alive = (ec.weight_mask.sum(dim=(1, 2, 3)) != 0).sum()
    assert int(channels_alive) == 3
    assert list(ec.state_dict()) == list(tc.state_dict())
    # the whole model still runs, and the pruned entries get no gradient
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    e(ember.tensor(x)).sum().backward()
    assert (ec.weight_orig.grad[ec.weight_mask == 0] == 0).all()
    # remove makes it permanent
    pruned_entries = int((ec.weight_mask == 0).sum())
    assert pruned_entries >= 27
    eprune.remove(ec, "weight")
    tprune.remove(tc, "weight")
    assert [n for n, _ in ec.named_parameters()] == [n for n, _ in tc.named_parameters()]
    assert list(ec.state_dict()) == list(tc.state_dict())
    assert isinstance(ec.weight, ember.nn.Parameter)
    assert int((ec.weight == 0).sum()) == pruned_entries
    assert eprune.is_pruned(e) and tprune.is_pruned(t)
    eprune.remove(ec, "bias")
    assert not eprune.is_pruned(e)


def test_deterministic_iterative_masks_equal_torch():
    e, t = twin()
    for prune, m in ((eprune, e), (tprune, t)):
        prune.l1_unstructured(m.conv2, "weight", amount=0.3)
        prune.ln_structured(m.conv2, "weight", amount=0.25, n=2, dim=0)
        prune.ln_structured(m.conv2, "weight", amount=2, n=1, dim=1)
        prune.l1_unstructured(m.conv2, "weight", amount=0.1)
        prune.ln_structured(m.fc1, "weight", amount=0.4, n=float("inf"), dim=-1)
        prune.ln_structured(m.fc2, "weight", amount=3, n=-1, dim=0)
        prune.l1_unstructured(m.fc3, "bias", amount=0.0)
        prune.identity(m.fc3, "weight")
    em, tm = masks_of(e), masks_of(t)
    assert list(em) == list(tm)
    for k in em:
        same(em[k], tm[k])
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(ye.detach().cpu().numpy(), yt.detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(e.conv2.weight_orig.grad.cpu().numpy(),
                               t.conv2.weight_orig.grad.numpy(),
                               rtol=1e-4, atol=1e-5)


def test_global_unstructured_equals_torch():
    e, t = twin()
    for prune, m in ((eprune, e), (tprune, t)):
        params = ((m.conv1, "weight"), (m.conv2, "weight"), (m.fc1, "weight"),
                  (m.fc2, "weight"), (m.fc3, "weight"))
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.2)
        # again, on top: only the entries still unpruned are considered
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.1)
    em, tm = masks_of(e), masks_of(t)
    assert list(em) == list(tm)
    for k in em:
        same(em[k], tm[k])
    total = sum(int((v == 0).sum()) for v in em.values())
    n = sum(v.numel() for v in em.values())
    assert total == round(0.2 * n) + round(0.1 * (n - round(0.2 * n)))


def test_global_unstructured_with_importance_scores_and_random():
    e, t = twin()
    scores_np = {name: rng.standard_normal(tuple(getattr(t, name).weight.shape)).astype(np.float32)
                 for name in ("fc2", "fc3")}
    for lib, prune, m in ((ember, eprune, e), (torch, tprune, t)):
        params = [(m.fc2, "weight"), (m.fc3, "weight")]
        scores = {(getattr(m, k), "weight"): lib.tensor(v) for k, v in scores_np.items()}
        prune.global_unstructured(params, prune.L1Unstructured, importance_scores=scores,
                                  amount=100)
    same(e.fc2.weight_mask, t.fc2.weight_mask)
    same(e.fc3.weight_mask, t.fc3.weight_mask)
    m = lenet(ember)
    eprune.global_unstructured([(m.fc2, "weight"), (m.fc3, "weight")],
                               pruning_method=eprune.RandomUnstructured, amount=50)
    assert int((m.fc2.weight_mask == 0).sum() + (m.fc3.weight_mask == 0).sum()) == 50


def test_importance_scores_and_custom_mask_equal_torch():
    e, t = twin()
    s = rng.standard_normal((16, 6, 3, 3)).astype(np.float32)
    mask = (rng.random((120, 400)) > 0.3).astype(np.float32)
    for lib, prune, m in ((ember, eprune, e), (torch, tprune, t)):
        prune.l1_unstructured(m.conv2, "weight", amount=0.5, importance_scores=lib.tensor(s))
        prune.ln_structured(m.conv1, "weight", amount=2, n=1, dim=0,
                            importance_scores=lib.tensor(s[:6, :1]))
        prune.custom_from_mask(m.fc1, "weight", mask=lib.tensor(mask))
        prune.l1_unstructured(m.fc1, "weight", amount=0.5)
    for k, v in masks_of(e).items():
        same(v, masks_of(t)[k])


def test_random_structured_prunes_whole_channels():
    m = ember.nn.Conv2d(3, 8, 3)
    eprune.random_structured(m, "weight", amount=0.25, dim=0)
    per_channel = m.weight_mask.sum(dim=(1, 2, 3))
    assert sorted(per_channel.tolist()) == [0.0] * 2 + [27.0] * 6
    eprune.random_structured(m, "weight", amount=1, dim=1)
    per_in = m.weight_mask.sum(dim=(0, 2, 3))
    assert int((per_in == 0).sum()) == 1
    eprune.random_structured(m, "weight", amount=0, dim=0)   # nothing more
    assert int((m.weight_mask.sum(dim=(1, 2, 3)) == 0).sum()) == 2


def test_pruning_method_prune_on_a_tensor():
    w = rng.standard_normal((4, 5)).astype(np.float32)
    same(eprune.L1Unstructured(amount=7).prune(ember.tensor(w)),
         tprune.L1Unstructured(amount=7).prune(torch.tensor(w)))
    same(eprune.LnStructured(amount=0.5, n=2, dim=1).prune(ember.tensor(w)),
         tprune.LnStructured(amount=0.5, n=2, dim=1).prune(torch.tensor(w)))


@pytest.mark.parametrize("n, levels", [(8, 2), (30, 3), (200, 4), (3000, 5)])
def test_ties_chosen_as_torch(n, levels):
    """Equal magnitudes: the entries pruned among tied ones are torch's (its topk's
    selection replayed), for both of its selection algorithms (k * 64 <= n or not)."""
    w = rng.integers(-levels, levels + 1, size=(n // 2, 2)).astype(np.float32)
    for amount in (1, 0.3, 0.5, 0.9):
        masks = []
        for lib, prune in ((ember, eprune), (torch, tprune)):
            masks.append(prune.L1Unstructured(amount=amount).compute_mask(
                lib.tensor(w), lib.ones(w.shape)))
        same(*masks)
    cols = rng.integers(0, 2, size=(3, 1)).astype(np.float32) * np.ones((3, n // 2))
    for amount in (1, 2):
        masks = [prune.LnStructured(amount=amount, n=1, dim=0).compute_mask(
            lib.tensor(cols), lib.ones(cols.shape)) for lib, prune in ((ember, eprune),
                                                                     (torch, tprune))]
        same(*masks)


def test_ties_after_remove_and_prune_again_as_torch():
    e, t = twin()
    for prune, m in ((eprune, e), (tprune, t)):
        prune.l1_unstructured(m.fc1, "weight", amount=0.5)
        prune.remove(m.fc1, "weight")     # half the weights are now exact zeros
        prune.l1_unstructured(m.fc1, "weight", amount=0.3)   # all among the zeros
        prune.global_unstructured([(m.fc1, "weight"), (m.fc2, "weight")],
                                  pruning_method=prune.L1Unstructured, amount=0.1)
    same(e.fc1.weight_mask, t.fc1.weight_mask)
    same(e.fc2.weight_mask, t.fc2.weight_mask)


def test_load_state_dict_of_pruned_model_and_training_step():
    e, t = twin()
    tprune.l1_unstructured(t.fc1, "weight", amount=0.6)
    eprune.l1_unstructured(e.fc1, "weight", amount=0.1)   # another mask, replaced by loading
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
    same_out = e(ember.tensor(x)).detach().cpu().numpy(), t(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(*same_out, rtol=1e-4, atol=1e-5)
    opt = ember.optim.SGD(e.parameters(), lr=0.1)
    e(ember.tensor(x)).sum().backward()
    opt.step()
    assert (e.fc1(ember.zeros(1, 400)) == e.fc1.bias).all()
    assert (e.fc1.weight[e.fc1.weight_mask == 0] == 0).all()


@pytest.mark.parametrize("call", [
    lambda P, L, m: P.l1_unstructured(m, "weight", amount=1.5),
    lambda P, L, m: P.l1_unstructured(m, "weight", amount=-1),
    lambda P, L, m: P.l1_unstructured(m, "weight", amount="a"),
    lambda P, L, m: P.l1_unstructured(m, "weight", amount=100),
    lambda P, L, m: P.ln_structured(m, "bias", amount=1, n=2, dim=0),
    lambda P, L, m: P.ln_structured(m, "weight", amount=1, n=2, dim=2),
    lambda P, L, m: P.random_structured(m, "weight", amount=9, dim=0),
    lambda P, L, m: P.remove(m, "weight"),
    lambda P, L, m: P.l1_unstructured(m, "weight", amount=1, importance_scores=L.ones(2)),
    lambda P, L, m: P.global_unstructured([(m, "weight")], P.LnStructured, amount=1, n=1,
                                          dim=0),
    lambda P, L, m: P.global_unstructured(3, P.L1Unstructured, amount=1),
    lambda P, L, m: P.global_unstructured([(m, "weight")], P.L1Unstructured,
                                          importance_scores=[1], amount=1),
    lambda P, L, m: P.custom_from_mask(m, "weight", mask=L.ones(2, 2)),
    lambda P, L, m: P.PruningContainer(P.Identity()).add_pruning_method(3),
])
def test_errors_as_torch(call):
    errors, names = [], []
    for prune, lib in ((eprune, ember), (tprune, torch)):
        m = lib.nn.Linear(4, 3)
        with pytest.raises(Exception) as err:
            call(prune, lib, m)
        errors.append(err)
        # a failed first pruning puts the parameter back (re-registered, so last)
        names.append(([n for n, _ in m.named_parameters()], [n for n, _ in m.named_buffers()]))
    assert names[0] == names[1]
    (ee, te) = errors
    assert ee.type is te.type
    msg = str(te.value).replace("torch.", "ember.").replace("Size(", "Size(")
    if "Linear" not in msg and "object at" not in msg:
        assert str(ee.value) == msg


def test_container_name_check():
    a = eprune.Identity()
    a._tensor_name = "weight"
    b = eprune.Identity()
    b._tensor_name = "bias"
    c = eprune.PruningContainer(a)
    with pytest.raises(ValueError, match="Can only add pruning methods acting on the parameter "
                                         "named 'weight'"):
        c.add_pruning_method(b)
    assert len(c) == 1 and c[0] is a and list(c) == [a]

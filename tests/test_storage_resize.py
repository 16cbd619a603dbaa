"""Resizing a tensor's storage (ember/storage/_resize.py) and the storages of meta tensors,
against torch: the tensors on a storage follow its resize (FSDP's
``p.untyped_storage().resize_(0)`` then ``resize_(nbytes)`` and a copy back), Tensor.resize_
growing past its storage moves the views too, and meta tensors have meta storages of
PyTorch's sizes."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _typed_storage_warning_off():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
        yield


def _both(fn):
    """fn(library) run on ember and on torch."""
    return fn(ember), fn(torch)


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as e:   # compared by type and message
        return ("raise", type(e).__name__, str(e))


def test_free_and_bring_back_a_parameters_memory():
    def run(L):
        p = L.arange(4.)
        v = p[1:]
        s = p.untyped_storage()
        s.resize_(0)
        freed = (p.untyped_storage().nbytes(), v.untyped_storage().nbytes(), tuple(p.shape),
                 s.nbytes())
        p.untyped_storage().resize_(16)
        back = (p.untyped_storage().nbytes(), s.nbytes(),   # the old storage object follows
                s.data_ptr() == p.untyped_storage().data_ptr(), v.data_ptr() - p.data_ptr())
        p.copy_(L.tensor([5., 6, 7, 8]))
        return freed, back, p.tolist(), v.tolist()
    e, t = _both(run)
    assert e == t
    assert e[0] == (0, 0, (4,), 0)


def test_growing_a_storage_moves_every_tensor_on_it():
    def run(L):
        a = L.arange(6.)
        b = a[2:4]
        c = a.view(2, 3).t()
        a.untyped_storage().resize_(48)
        a[2] = 20.
        same = (a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr() ==
                c.untyped_storage().data_ptr())
        return (a.tolist(), b.tolist(), c.tolist(), c.stride(), same,
                b.untyped_storage().nbytes(), a.untyped_storage().resizable())
    e, t = _both(run)
    assert e == t
    assert e[4] and e[1] == [20., 3.]


def test_shrinking_keeps_the_tensors_that_still_fit():
    def run(L):
        z = L.arange(6.)
        head, tail = z[:2], z[3:]
        z.untyped_storage().resize_(8)
        sizes = (z.untyped_storage().nbytes(), tail.untyped_storage().nbytes(),
                 tuple(tail.shape), head.tolist())
        head[0] = 7.
        z.untyped_storage().resize_(24)
        return sizes, z[:2].tolist(), tail.shape   # (tail's values are uninitialised in torch)
    e, t = _both(run)
    assert e == t


def test_tensor_resize_grows_the_storage_under_its_views():
    def run(L):
        r = L.arange(3.)
        rr = r[:]
        r.resize_(5)
        r[1] = 10.
        return (rr.untyped_storage().nbytes(), rr.data_ptr() == r.data_ptr(), rr.tolist(),
                r[:3].tolist())
    e, t = _both(run)
    assert e == t
    assert e[2] == [0., 10., 2.]


def test_typed_storage_and_set_storage_follow():
    def run(L):
        q = L.arange(3.)
        st = q.storage()
        st.resize_(5)
        u = L.UntypedStorage(8)
        w = L.empty(0).set_(u)
        w.fill_(1.)
        u.resize_(16)
        return q.tolist(), q.untyped_storage().nbytes(), len(st), w.tolist(), len(u)
    e, t = _both(run)
    assert e == t


def test_training_with_freed_parameter_memory():
    """FSDP's pattern by hand: each step the parameters' memory is brought back from a
    kept copy before the forward and freed after the update; the losses match torch's."""
    def run(L):
        L.manual_seed(0)
        net = L.nn.Linear(4, 3)
        keep = [p.detach().clone() for p in net.parameters()]
        opt = L.optim.SGD(net.parameters(), lr=0.1)
        x = L.arange(8.).reshape(2, 4) / 8
        y = L.tensor([0, 2])
        losses = []
        for _ in range(3):
            with L.no_grad():
                for p, k in zip(net.parameters(), keep):
                    p.untyped_storage().resize_(k.numel() * k.element_size())
                    p.copy_(k)
            loss = L.nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            with L.no_grad():
                for p, k in zip(net.parameters(), keep):
                    k.copy_(p)
                    p.untyped_storage().resize_(0)
            losses.append(round(loss.item(), 5))
        sizes = [p.untyped_storage().nbytes() for p in net.parameters()]
        return losses, sizes, [k.sum().item() for k in keep]
    e, t = _both(run)
    assert e[0] == t[0] and e[1] == t[1] == [0, 0]
    assert np.allclose(e[2], t[2], atol=1e-6)


def test_resize_errors():
    for fn in (lambda L: L.arange(4.).untyped_storage().resize_(2.5),
               lambda L: L.arange(4.).untyped_storage().resize_(L.tensor(2)),
               lambda L: L.from_file.__name__ and L.UntypedStorage.from_buffer(
                   b"abcd", dtype=L.uint8)[0:2].resize_(8)):
        e, t = (_outcome(lambda: fn(ember) and None), _outcome(lambda: fn(torch) and None))
        assert e[:2] == t[:2], (e, t)
        assert e[0] == "raise" and e[2].split(",")[0] == t[2].split(",")[0]


def test_meta_storages():
    def run(L):
        m = L.empty(3, device="meta")
        ms = m.untyped_storage()
        facts = [repr(ms).replace("torch.", "ember.") if L is torch else repr(ms),
                 str(ms.device), ms.nbytes(), ms.data_ptr(), ms.get_device(), ms.element_size(),
                 m[1:].untyped_storage().nbytes(), m.untyped_storage() is ms,
                 L.empty(2, 3, device="meta").t().untyped_storage().nbytes(),
                 L.empty(2, 3, device="meta")[1].untyped_storage().nbytes(),
                 L.nn.Linear(3, 4, device="meta").weight.untyped_storage().nbytes(),
                 len(m.storage()), ms.is_shared(), ms.is_pinned()]
        ms.resize_(100)
        facts += [ms.nbytes(), m.untyped_storage().nbytes(), m[1:].untyped_storage().nbytes(),
                  ms.clone().nbytes(), str(ms.clone().device), ms.fill_(1) is ms]
        t = L.empty(0, device="meta").set_(ms, 1, (5,), (1,))
        facts += [tuple(t.shape), str(t.device), t.untyped_storage() is ms,
                  L.UntypedStorage(5, device="meta").nbytes()]
        for bad in (lambda: ms[0], lambda: ms[0:2], lambda: ms.tolist(), lambda: ms.cpu(),
                    lambda: ms.share_memory_(),
                    lambda: L.empty(0, device="meta").set_(ms, 0, (26,), (1,))):
            out = _outcome(bad)
            facts.append(out[:2] if out[0] == "raise" else "ok")
        return facts
    e, t = _both(run)
    assert e == t


def test_fsdp_free_and_alloc_through_typed_storage():
    """FSDP1's _free_storage/_alloc_storage (tensor._typed_storage()._resize_ and _size(),
    PyTorch's internal names that skip the deprecation warning) on a flat parameter whose
    views are the module's parameters."""
    def run(L):
        flat = L.nn.Parameter(L.arange(12.))
        views = [flat[:6].view(2, 3), flat[6:].view(3, 2)]
        full = flat.detach().clone()
        seen = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # no TypedStorage deprecation warning
            for it in range(2):
                with L.no_grad():
                    flat.data._typed_storage()._resize_(0)
                seen.append((flat._typed_storage()._size(), views[0].untyped_storage().nbytes()))
                with L.no_grad():
                    flat.data._typed_storage()._resize_(12)
                    flat.copy_(full * (it + 1))
                st = flat._typed_storage()
                seen.append((views[0].tolist(), views[1].sum().item(), st._nbytes(),
                             st._element_size(), st._data_ptr() == flat.data_ptr(), st._getitem(3)))
        return seen
    e, t = _both(run)
    assert e == t


def test_resize_on_device(device):
    """The same free / bring back / grow on the device under test (CUDA: CuPy memory)."""
    p = ember.arange(4., device=device)
    v = p[1:]
    s = p.untyped_storage()
    s.resize_(0)
    assert (p.untyped_storage().nbytes(), v.untyped_storage().nbytes(), s.nbytes()) == (0, 0, 0)
    p.untyped_storage().resize_(16)
    p.copy_(ember.tensor([5., 6, 7, 8], device=device))
    assert v.cpu().tolist() == [6., 7., 8.] and str(p.untyped_storage().device) == str(p.device)
    r = ember.arange(3., device=device)
    rr = r[:]
    r.resize_(5)
    r[1] = 10.
    assert rr.cpu().tolist() == [0., 10., 2.] and rr.untyped_storage().nbytes() == 20


def test_typed_storages_made_before_follow_a_resize():
    """TypedStorage objects over the storage (made before the resize, so found by the
    walk first) read the new bytes through their untyped storage."""
    def run(L):
        q = L.arange(3.)
        typed = [q.storage(), q.storage()]
        q.untyped_storage().resize_(20)
        return q.tolist(), [len(s) for s in typed], q.untyped_storage().nbytes()
    e, t = _both(run)
    assert e == t

"""ember.jit.save of forwards that pack sequences for a recurrent layer
(nn.utils.rnn.pack_padded_sequence -> LSTM/GRU/RNN -> pad_packed_sequence) and that call
F.embedding_bag and F.fractional_max_pool2d/3d as functions: the archive loads in real
torch.jit.load and gives torch's model's outputs (the same weights), and ember.jit.load
runs it too; ember.jit.load also runs torch's own scripted packed-sequence model."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from tests.jit_roundtrip import save_and_load, to_torch  # noqa: E402


def outputs(value):
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in outputs(item)]
    return [np.asarray(value.detach().numpy())]


def same(got, want, rtol=1e-5, atol=1e-6):
    got, want = outputs(got), outputs(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def models(lib):
    nn = lib.nn
    rnn = lib.nn.utils.rnn

    class Packed(nn.Module):
        def __init__(self, kind="LSTM", batch_first=True, enforce_sorted=False, **kw):
            super().__init__()
            self.batch_first, self.enforce_sorted = batch_first, enforce_sorted
            self.rnn = getattr(nn, kind)(3, 4, batch_first=batch_first, **kw)

        def forward(self, x, lengths):
            p = rnn.pack_padded_sequence(x, lengths, batch_first=self.batch_first,
                                         enforce_sorted=self.enforce_sorted)
            out, h = self.rnn(p)
            y, n = rnn.pad_packed_sequence(out, batch_first=self.batch_first)
            return y, n, h

    class Stacked(nn.Module):   # a packed output fed to a second layer, a given state
        def __init__(self):
            super().__init__()
            self.one, self.two = nn.LSTM(3, 4), nn.GRU(4, 5)

        def forward(self, x, lengths, h0, c0):
            p = rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
            mid, _ = self.one(p, (h0, c0))
            out, h = self.two(mid)
            y, _ = rnn.pad_packed_sequence(out, total_length=x.size(0) + 1, padding_value=-1.0)
            return y, h, out.batch_sizes

    return {"Packed": Packed, "Stacked": Stacked}


EMBER, TORCH = models(ember), models(torch)


def pair(name, **kw):
    ours = EMBER[name](**kw).eval()
    theirs = TORCH[name](**kw).eval()
    theirs.load_state_dict({k: to_torch(v) for k, v in ours.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("kw", [
    dict(kind="LSTM"), dict(kind="GRU", batch_first=False), dict(kind="RNN", num_layers=2),
    dict(kind="LSTM", bidirectional=True, batch_first=False),
    dict(kind="LSTM", enforce_sorted=True),
], ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_packed_recurrent_layer_matches_torchs_model(kw):
    ours, torch_model = pair("Packed", **kw)
    theirs, back = save_and_load(ours)
    batch_first = kw.get("batch_first", True)
    cases = [[5, 2, 3], [1], [4, 4, 1, 2]]
    if kw.get("enforce_sorted"):
        cases = [sorted(c, reverse=True) for c in cases]
    for lengths in cases:
        steps, batch = max(lengths), len(lengths)
        x = ember.randn(*((batch, steps, 3) if batch_first else (steps, batch, 3)))
        n = ember.tensor(lengths)
        with torch.no_grad():
            want = torch_model(to_torch(x), to_torch(n))
        same(theirs(to_torch(x), to_torch(n)), want)
        same(back(x, n), want)
        same(ours(x, n), want)


def test_packed_output_into_a_second_layer_with_a_given_state():
    ours, torch_model = pair("Stacked")
    theirs, back = save_and_load(ours)
    for lengths in ([3, 1, 2], [2]):
        x = ember.randn(max(lengths), len(lengths), 3)
        n = ember.tensor(lengths)
        h0, c0 = ember.randn(1, len(lengths), 4), ember.randn(1, len(lengths), 4)
        with torch.no_grad():
            want = torch_model(*map(to_torch, (x, n, h0, c0)))
        same(theirs(*map(to_torch, (x, n, h0, c0))), want)
        same(back(x, n, h0, c0), want)


def test_unsorted_lengths_with_enforce_sorted_raise_in_both():
    ours, _ = pair("Packed", enforce_sorted=True)
    theirs, back = save_and_load(ours)
    x, n = ember.randn(2, 3, 3), ember.tensor([2, 3])
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        theirs(to_torch(x), to_torch(n))
    with pytest.raises(Exception, match="sorted in decreasing order"):
        back(x, n)


def test_ember_loads_torchs_scripted_packed_model(tmp_path):
    ours, torch_model = pair("Packed")
    path = str(tmp_path / "packed.pt")
    torch.jit.save(torch.jit.script(torch_model), path)
    loaded = ember.jit.load(path)
    x, n = ember.randn(3, 5, 3), ember.tensor([5, 2, 3])
    with torch.no_grad():
        want = torch_model(to_torch(x), to_torch(n))
    same(loaded(x, n), want)


# ----------------------------------------------------------------------------- functions

def functions(lib):
    nn, F = lib.nn, lib.nn.functional

    class Bag(nn.Module):
        def __init__(self, **kw):
            super().__init__()
            self.kw = kw
            self.weight = nn.Parameter(lib.randn(10, 3))

        def forward(self, idx, offsets):
            return F.embedding_bag(idx, self.weight, offsets, **self.kw)

    class BagWeighted(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(lib.randn(10, 3))

        def forward(self, idx, weights):   # 2-D input: bags of equal length
            return F.embedding_bag(idx, self.weight, mode="sum", per_sample_weights=weights,
                                   padding_idx=-2)

    class Fractional(nn.Module):
        def __init__(self, n, with_indices=False, **kw):
            super().__init__()
            self.n, self.with_indices, self.kw = n, with_indices, kw

        def forward(self, x, samples):
            if self.with_indices:
                pool = getattr(F, f"fractional_max_pool{self.n}d_with_indices")
            else:
                pool = getattr(F, f"fractional_max_pool{self.n}d")
            return pool(x, 2, _random_samples=samples, **self.kw)

    return {"Bag": Bag, "BagWeighted": BagWeighted, "Fractional": Fractional}


EF, TF = functions(ember), functions(torch)


def fpair(name, *a, **kw):
    ours = EF[name](*a, **kw)
    theirs = TF[name](*a, **kw)
    theirs.load_state_dict({k: to_torch(v) for k, v in ours.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("kw", [dict(mode="mean"), dict(mode="sum"), dict(mode="max"),
                                dict(mode="sum", include_last_offset=True),
                                dict(mode="mean", padding_idx=4),
                                dict(mode="sum", max_norm=1.0)],
                         ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_embedding_bag_function(kw):
    ours, torch_model = fpair("Bag", **kw)
    theirs, back = save_and_load(ours)
    for idx, offsets in (([1, 2, 4, 5, 4, 3], [0, 2, 5]), ([7, 7, 0], [0, 1])):
        idx, offsets = ember.tensor(idx), ember.tensor(offsets)
        want = torch_model(to_torch(idx), to_torch(offsets))
        same(theirs(to_torch(idx), to_torch(offsets)), want)
        same(back(idx, offsets), want)
    with pytest.raises(torch.jit.Error, match="if input is 2D, then offsets has to be None"):
        theirs(torch.tensor([[1, 2]]), torch.tensor([0]))
    with pytest.raises(ember.jit.Error, match="if input is 2D, then offsets has to be None"):
        back(ember.tensor([[1, 2]]), ember.tensor([0]))


def test_embedding_bag_of_a_2d_input_with_weights():
    ours, torch_model = fpair("BagWeighted")
    theirs, back = save_and_load(ours)
    idx, w = ember.tensor([[1, 8, 3], [8, 0, 2]]), ember.rand(2, 3)
    want = torch_model(to_torch(idx), to_torch(w))
    same(theirs(to_torch(idx), to_torch(w)), want)
    same(back(idx, w), want)
    same(ours(idx, w), want)
    with pytest.raises(torch.jit.Error, match="offsets has to be a 1D Tensor but got None"):
        theirs(torch.tensor([1, 2]), torch.rand(2))


@pytest.mark.parametrize("n,kw", [(2, dict(output_size=3)), (2, dict(output_ratio=(0.5, 0.6))),
                                  (2, dict(output_size=(3, 2), return_indices=True)),
                                  (3, dict(output_size=2)),
                                  (2, dict(output_size=2, with_indices=True))],
                         ids=lambda v: str(v))
def test_fractional_max_pool_functions(n, kw):
    ours, torch_model = fpair("Fractional", n, **kw)
    theirs, back = save_and_load(ours)
    for size in (6, 7):
        x = ember.randn(*([2, 3] + [size] * n))
        samples = ember.rand(2, 3, n)
        want = torch_model(to_torch(x), to_torch(samples))
        same(theirs(to_torch(x), to_torch(samples)), want)
        same(back(x, samples), want)


def test_fractional_max_pool_without_a_size_raises_as_torch():
    class NoSize(ember.nn.Module):
        def forward(self, x):
            return ember.nn.functional.fractional_max_pool2d(x, 2)
    with pytest.raises(ValueError, match="requires specifying either an output_size or an "
                                         "output_ratio"):
        ember.jit.save(NoSize(), io.BytesIO())
    with pytest.raises(ValueError, match="requires specifying either an output_size"):
        torch.nn.functional.fractional_max_pool2d(torch.randn(1, 1, 4, 4), 2)

"""What ember.jit.save refuses, by name: loops left by a branch on a traced value (the
source line of the branch named), eager-mode quantization models (prepare()'s observer
hooks, convert()'s quantized modules). And a branch that ends in an error of the trace
itself (not a ``raise`` of the forward) is not saved as a raise."""
import io

import pytest

import ember
import ember.fx

nn = ember.nn


# (while/for loops whose test is the loop's own line save: tests/test_jit_loops_save_js23.py;
# a loop left by a branch in its body is still refused)
class WhileOnValue(nn.Module):
    def forward(self, x):
        while True:
            if x.norm() <= 1:
                break
            x = x / 2
        return x


class WhileOnSize(nn.Module):
    def forward(self, x):
        n = x.shape[-1]
        while True:
            if n <= 1:
                break
            n = n // 2
            x = x[..., :n]
        return x


@pytest.mark.parametrize("model,line", [(WhileOnValue(), "if x.norm() <= 1:"),
                                        (WhileOnSize(), "if n <= 1:")])
def test_loop_on_a_traced_value_is_refused_naming_its_line(model, line):
    with pytest.raises(NotImplementedError, match="loops on a traced value at "
                       r"test_jit_refusals_save_js22.py:\d+ \('" + line.replace("(", r"\(")
                       .replace(")", r"\)")):
        ember.jit.save(model, io.BytesIO())


def quantized_pair():
    q = pytest.importorskip("ember.ao.quantization")

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.fc, self.dequant = q.QuantStub(), nn.Linear(4, 3), q.DeQuantStub()

        def forward(self, x):
            return self.dequant(self.fc(self.quant(x)))
    m = M().eval()
    m.qconfig = q.get_default_qconfig("fbgemm")
    prepared = q.prepare(m)
    prepared(ember.randn(5, 4))
    return q, prepared


def test_prepared_quantization_model_is_refused_naming_its_observers():
    _, prepared = quantized_pair()
    with pytest.raises(NotImplementedError, match="observer of eager-mode quantization.*"
                                                  "_observer_forward_hook"):
        ember.jit.save(prepared, io.BytesIO())


def test_converted_quantization_model_is_refused_naming_the_quantized_module():
    q, prepared = quantized_pair()
    converted = q.convert(prepared)
    with pytest.raises(NotImplementedError, match="'quant' .*quantized module of eager-mode "
                                                  "quantization"):
        ember.jit.save(converted, io.BytesIO())


class IndexesAListWithARank(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            # a TypeError in the trace (a traced rank indexes a list), not the code's raise
            return x * [1.0, 2.0, 3.0, 4.0][x.dim()]
        return x


ASSERTS = """
import ember


class Asserts(ember.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            assert x.dim() == 5, "five dims"
        return x
"""


def test_an_error_of_the_trace_on_a_branch_is_not_saved_as_a_raise():
    with pytest.raises(NotImplementedError, match="cannot be traced by ember.fx"):
        ember.jit.save(IndexesAListWithARank(), io.BytesIO())


def test_an_assert_on_a_branch_is_saved_as_a_raise(tmp_path, monkeypatch):
    # (in a module of its own: pytest rewrites the asserts of test modules)
    (tmp_path / "asserting_js22.py").write_text(ASSERTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import asserting_js22
    from tests.jit_roundtrip import save_and_load
    theirs, back = save_and_load(asserting_js22.Asserts())
    torch = pytest.importorskip("torch")
    assert back(-ember.ones(2)).tolist() == [-1.0, -1.0]
    with pytest.raises(torch.jit.Error, match="AssertionError: five dims"):
        theirs(torch.ones(2))
    with pytest.raises(ember.jit.Error, match="AssertionError: five dims"):
        back(ember.ones(2))


def to_numpy_and_back(x):
    """A wrapped function whose body leaves the trace (NumPy)."""
    return ember.tensor(x.numpy() * 2)


ember.fx.wrap("to_numpy_and_back")


class CallsUntraceable(nn.Module):
    def forward(self, x):
        return to_numpy_and_back(x) + 1


def test_a_wrapped_function_whose_body_does_not_trace_is_refused_by_name():
    with pytest.raises(NotImplementedError, match="the wrapped function .*"
                                                  "to_numpy_and_back: .*Tensor.numpy"):
        ember.jit.save(CallsUntraceable(), io.BytesIO())

"""torch.onnx.export of ops on each row of a PackedSequence's data: a linear layer,
activations, dropout, layer norm and per-feature arithmetic between recurrent layers
(``PackedSequence(f(p.data), p.batch_sizes, p.sorted_indices, p.unsorted_indices)``).
The exporter writes a packed sequence as its padded tensor and lengths; such ops compute
the same rows there, so their result keeps the lengths. onnxruntime's outputs equal the
eager model's (ember's and PyTorch's, same weights) at other batch sizes, lengths and
sequence lengths."""
import io
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _net(lib, rows):
    R = lib.nn.utils.rnn

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = lib.nn.Embedding(9, 3)
            self.rnn = lib.nn.GRU(3, 4, batch_first=True, bidirectional=True)
            self.fc = lib.nn.Linear(8, 5)
            self.norm = lib.nn.LayerNorm(5)
            self.drop = lib.nn.Dropout(0.3)
            self.rnn2 = lib.nn.LSTM(5, 3, batch_first=True)
            self.scale = lib.nn.Parameter(lib.ones(5) * 0.5)

        def forward(self, tokens, lengths):
            p = R.pack_padded_sequence(tokens, lengths, batch_first=True,
                                       enforce_sorted=False)
            if rows == "embedding":     # the embedding of packed token ids
                p = R.PackedSequence(self.emb(p.data), p.batch_sizes, p.sorted_indices,
                                     p.unsorted_indices)
            else:
                p = R.pack_padded_sequence(self.emb(tokens), lengths, batch_first=True,
                                           enforce_sorted=False)
            out, _ = self.rnn(p)
            d = self.fc(out.data)
            d = self.norm(self.drop(lib.tanh(d) * self.scale + 1.0))
            if rows == "softmax":
                d = d.log_softmax(-1)
            out2, _ = self.rnn2(out._replace(data=d))
            padded, n = R.pad_packed_sequence(out2, batch_first=True)
            return padded, n
    return Net().eval()


def _feed(b, steps, lengths, seed):
    rng = np.random.default_rng(seed)
    return {"tokens": rng.integers(0, 9, (b, steps)), "lengths": np.array(lengths)}


@pytest.mark.parametrize("rows", ["linear", "embedding", "softmax"])
def test_row_wise_ops_between_recurrent_layers(rows):
    e, t = _net(ember, rows), _net(torch, rows)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    feed = _feed(3, 5, [5, 2, 4], 0)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember.onnx.export(e, tuple(ember.tensor(v) for v in feed.values()), buf,
                          dynamo=False, input_names=list(feed),
                          dynamic_axes={"tokens": {0: "b", 1: "t"}, "lengths": {0: "b"}})
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()), full_check=True)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for b, steps, lengths, seed in ((3, 5, [5, 2, 4], 0), (4, 6, [3, 6, 1, 2], 1),
                                    (2, 4, [2, 3], 2)):
        feed = _feed(b, steps, lengths, seed)
        got = sess.run(None, feed)
        with torch.no_grad():
            want_t = t(*(torch.tensor(v) for v in feed.values()))
        want_e = e(*(ember.tensor(v) for v in feed.values()))
        for g_, we, wt in zip(got, want_e, want_t):
            assert g_.shape == tuple(we.shape) == tuple(wt.shape)
            np.testing.assert_allclose(g_, we.detach().numpy(), rtol=2e-5, atol=2e-6)
            np.testing.assert_allclose(g_, wt.numpy(), rtol=2e-5, atol=2e-6)

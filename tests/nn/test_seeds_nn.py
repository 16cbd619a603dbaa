"""Seed networks, written as a learner writes them (`import torch`), run with ember as
torch: each must train (outcomes asserted, on torch too so the program itself is
checked); a state_dict from torch loads into the same ember architecture, gives the same
outputs, and goes back."""
import builtins

import numpy as np
import pytest
import torch

import ember
from tests.test_seeds import _import_as_ember

TWO_CLUSTERS = """
import torch
import torch.nn as nn

torch.manual_seed(0)
n = 200
x0 = torch.randn(n, 2) + torch.tensor([2.0, 2.0])
x1 = torch.randn(n, 2) + torch.tensor([-2.0, -2.0])
x = torch.cat([x0, x1])
y = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])

model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2),
                      nn.Softmax(dim=1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
loss_fn = nn.NLLLoss()
for epoch in range(100):
    optimizer.zero_grad()
    probs = model(x)
    loss = loss_fn(torch.log(probs + 1e-9), y)
    loss.backward()
    optimizer.step()
model.eval()
with torch.no_grad():
    accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
final_loss = loss.item()
"""

NET_NLL = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

torch.manual_seed(1)
x_train = torch.randn(300, 4)
w_true = torch.tensor([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0], [-1.5, 0.2, 1.0], [0.7, 0.7, 0.7]])
y_train = (x_train @ w_true).argmax(dim=1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


net = Net()
optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
criterion = nn.NLLLoss()
loader = DataLoader(list(zip(x_train, y_train)), batch_size=10, shuffle=True)
first_loss = None
for epoch in range(15):
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(net(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
    if first_loss is None:
        first_loss = total / len(loader)
last_loss = total / len(loader)
with torch.no_grad():
    accuracy = (net(x_train).argmax(1) == y_train).float().mean().item()
"""

LOGISTIC = """
import torch
import torch.nn as nn

torch.manual_seed(2)
x = torch.randn(200, 2)
y = ((x[:, 0] + 2 * x[:, 1]) > 0).float().unsqueeze(1)
model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
criterion = nn.BCELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(300):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
with torch.no_grad():
    accuracy = ((model(x) > 0.5).float() == y).float().mean().item()
final_loss = loss.item()
w = model[0].weight.detach()
direction_ratio = (w[0, 1] / w[0, 0]).item()
"""

SMALL_TRANSFORMER = """
import torch
import torch.nn as nn

torch.manual_seed(3)
# copy task: every position predicts the first token (a learned position embedding
# marks which one is first)
vocab, length = 6, 5
emb = nn.Embedding(vocab, 16)
pos = nn.Parameter(torch.randn(length, 16))
layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
head = nn.Linear(16, vocab)
params = [pos] + list(emb.parameters()) + list(encoder.parameters()) + list(head.parameters())
optimizer = torch.optim.Adam(params, lr=0.01)
for step in range(120):
    tokens = torch.randint(0, vocab, (16, length))
    target = tokens[:, :1].expand(-1, length)
    logits = head(encoder(emb(tokens) + pos))
    loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), target.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
final_loss = loss.item()
"""


@pytest.fixture(autouse=True)
def one_torch_thread():
    """torch's intra-op threads stall on a busy machine; these nets are tiny."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def run_program(source, lib):
    namespace = {"__name__": "__main__"}
    if lib is ember:
        namespace["__builtins__"] = dict(vars(builtins), __import__=_import_as_ember)
    exec(compile(source, "<seed>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_two_cluster_classifier(lib):
    ns = run_program(TWO_CLUSTERS, lib)
    assert ns["accuracy"] > 0.97 and ns["final_loss"] < 0.1


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_net_log_softmax_nll_with_dataloader(lib):
    ns = run_program(NET_NLL, lib)
    assert ns["last_loss"] < 0.5 * ns["first_loss"]
    assert ns["accuracy"] > 0.9


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_logistic_regression(lib):
    ns = run_program(LOGISTIC, lib)
    assert ns["accuracy"] > 0.95 and ns["final_loss"] < 0.2
    assert 1.2 < ns["direction_ratio"] < 3.5  # the boundary x0 + 2 x1 = 0


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_transformer_encoder_learns_copy_task(lib):
    ns = run_program(SMALL_TRANSFORMER, lib)
    assert ns["final_loss"] < 0.5


def build_cnn(L):
    return L.nn.Sequential(
        L.nn.Conv2d(1, 4, 3, padding=1), L.nn.BatchNorm2d(4), L.nn.ReLU(), L.nn.MaxPool2d(2),
        L.nn.Conv2d(4, 8, 3), L.nn.ReLU(), L.nn.AdaptiveAvgPool2d(1), L.nn.Flatten(),
        L.nn.Linear(8, 10), L.nn.LogSoftmax(dim=1))


def build_lstm(L):
    class Tagger(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = L.nn.Embedding(20, 8)
            self.lstm = L.nn.LSTM(8, 12, batch_first=True, bidirectional=True)
            self.out = L.nn.Linear(24, 5)

        def forward(self, x):
            return self.out(self.lstm(self.emb(x))[0])
    return Tagger()


@pytest.mark.parametrize("build,make_input", [
    (build_cnn, lambda r: r.standard_normal((3, 1, 8, 8)).astype(np.float32)),
    (build_lstm, lambda r: r.integers(0, 20, (2, 7))),
], ids=["cnn", "lstm"])
def test_state_dict_round_trip_between_torch_and_ember(build, make_input):
    r = np.random.default_rng(0)
    tm, em = build(torch), build(ember)
    tm.train()
    x = make_input(r)
    tm(torch.from_numpy(x))  # move BatchNorm running stats away from their defaults
    tm.eval()
    em.eval()
    # torch -> ember
    state = {k: ember.from_numpy(v.detach().numpy().copy()) for k, v in tm.state_dict().items()}
    result = em.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).cpu().numpy()
    np.testing.assert_allclose(em(ember.tensor(x)).detach().cpu().numpy(), expected, rtol=1e-5,
                               atol=1e-5)
    # ember -> torch (a fresh torch model)
    tm2 = build(torch)
    tm2.load_state_dict({k: torch.from_numpy(v.detach().cpu().numpy().copy())
                         for k, v in em.state_dict().items()})
    tm2.eval()
    with torch.no_grad():
        np.testing.assert_allclose(tm2(torch.from_numpy(x)).cpu().numpy(), expected, rtol=1e-5,
                                   atol=1e-5)
    # and through a file ember writes in torch's format
    import io
    buf = io.BytesIO()
    ember.save(em.state_dict(), buf, format="torch")
    buf.seek(0)
    tm3 = build(torch)
    # (a CUDA model's file records cuda:0, as torch writes it: the CPU oracle maps it)
    tm3.load_state_dict(torch.load(buf, weights_only=True, map_location="cpu"))
    tm3.eval()
    with torch.no_grad():
        np.testing.assert_allclose(tm3(torch.from_numpy(x)).cpu().numpy(), expected, rtol=1e-5,
                                   atol=1e-5)

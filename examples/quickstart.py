"""ember's main example: a small classifier trained end to end, no download needed.

Two Gaussian clusters in 2-D, a network of Linear, BatchNorm1d, ReLU and Linear layers,
CrossEntropyLoss, Adam, a shuffled DataLoader, and a checkpoint saved and reloaded.
It is ordinary PyTorch code: only the import line differs.

Run:  python examples/quickstart.py
"""
import os
import tempfile

import ember as torch
from ember import nn
from ember.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# data: two clusters, labels 0 and 1
n = 500
x = torch.cat([torch.randn(n, 2) + torch.tensor([2.0, 2.0]),
               torch.randn(n, 2) + torch.tensor([-2.0, -2.0])])
y = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                    nn.Linear(16, 2))

    def forward(self, x):
        return self.layers(x)


model = Net()
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()

for epoch in range(5):
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    print(f"epoch {epoch}  loss {total / len(x):.4f}")

model.eval()
with torch.no_grad():
    accuracy = (model(x).argmax(1) == y).float().mean().item()
print(f"accuracy {accuracy:.3f}")

path = os.path.join(tempfile.mkdtemp(), "model.pt")
torch.save(model.state_dict(), path)
again = Net()
again.load_state_dict(torch.load(path))
again.eval()
with torch.no_grad():
    assert torch.equal(again(x).argmax(1), model(x).argmax(1))
print("checkpoint reloaded:", path)
assert accuracy > 0.95

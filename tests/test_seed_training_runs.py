"""A seed tutorial's training program prints, under ember, the losses PyTorch prints for
the same seed: random data, random initial weights and shuffled batches all come from the
generator, which ember reproduces (tests/test_random_stream.py); what remains between the
two runs is float rounding in the products and sums.

Source: /work/shared/seeds/003_211ad04d4d771e58.txt, its classification network trained
with a shuffling DataLoader (the tutorial's code unchanged), run with `import torch`
answered by ember for the ember run.
"""
import builtins
import contextlib
import io
import re

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

PROGRAM = """
import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data as data

# 定义神经网络类
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(10, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        x = self.fc1(x)
        x = nn.functional.relu(x)
        x = self.fc2(x)
        return nn.functional.log_softmax(x, dim=1)

# 准备数据
x_train = torch.randn(100, 10)
y_train = torch.randint(0, 2, (100,))

# 定义模型、优化器和损失函数
model = Net()
optimizer = optim.SGD(model.parameters(), lr=0.1)
criterion = nn.NLLLoss()

# 训练模型
for epoch in range(100):
    running_loss = 0.0

    # 使用DataLoader加载数据批次
    for x_batch, y_batch in data.DataLoader(list(zip(x_train, y_train)), batch_size=10, shuffle=True):
        optimizer.zero_grad()
        y_pred = model(x_batch)
        loss = criterion(y_pred, y_batch)
        loss.backward()
        optimizer.step()

        running_loss += loss.item()

    print(f"Epoch {epoch}: Loss = {running_loss}")
"""


def _import_as_ember(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and (name == "torch" or name.startswith("torch.")):
        name = "ember" + name[len("torch"):]
    return builtins.__import__(name, globals, locals, fromlist, level)


def _losses(lib):
    namespace = {"__name__": "__main__"}
    if lib is ember:
        namespace["__builtins__"] = dict(vars(builtins), __import__=_import_as_ember)
    lib.manual_seed(0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(PROGRAM, "<003 training>", "exec"), namespace)
    return [float(v) for v in re.findall(r"Epoch \d+: Loss = (\S+)", out.getvalue())]


def test_tutorial_training_prints_torchs_losses():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)      # tiny layers: torch's thread pool only adds waiting
    try:
        got, expected = _losses(ember), _losses(torch)
    finally:
        torch.set_num_threads(threads)
    assert len(got) == len(expected) == 100
    # 1000 SGD steps on the same data, weights and batch order: the losses agree to float
    # rounding (a different random stream would differ from the first epoch on)
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert got[-1] < got[0]

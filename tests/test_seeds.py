"""The seed tutorials' tensor and autograd snippets print under ember what they print
under PyTorch (with `ember.` for `torch.`).

Sources: /work/shared/seeds/002_87b95a8aae75a9c3.txt (sections 2-3: tensors, autograd)
and /work/shared/seeds/003_211ad04d4d771e58.txt (its autograd example). Each snippet is
the tutorial's code unchanged; it runs as the tutorial's reader would run it in a
notebook or REPL: every top-level expression statement shows its repr (the tutorial
writes those results as comments, e.g. ``i.type(torch.int)  # tensor([32], ...)``).
After the snippet, the tensors, arrays and numbers it left in its namespace are printed
too, so a snippet without output is still compared. An exception ends the snippet and
its type is compared.

The snippets run in this process by `exec`, with `import torch` answered by ember for
the ember run (the real torch is already imported here for the other run).
"""
import ast
import builtins
import contextlib
import io
import numbers

import numpy as np
import pytest
import torch

import ember

# Each snippet starts from `import numpy as np`: section 2.2 uses `np` although the
# tutorial only imported it under that name in a later section.
PRELUDE = "import numpy as np\n"

SNIPPETS = {
    # 002 §2.1: the list of dtype names, which is not valid code (a dtype is not callable)
    "002-2.1-dtype-list": """
torch.float64(torch.double),
torch.float32(torch.float),
torch.float16,
torch.int64(torch.long),
torch.int32(torch.int),
torch.int16,
torch.int8,
torch.uint8,
torch.bool
""",
    # 002 §2.1: dtype inference
    "002-2.1-inferred-dtypes": """
import torch
import numpy


# 自动推断数据类型

i = torch.tensor(1)
print(i,i.dtype)

x = torch.tensor(2.0)
print(x,x.dtype)

b = torch.tensor(True)
print(b,b.dtype)
""",
    # 002 §2.1: explicit dtypes
    "002-2.1-explicit-dtypes": """
# 指定数据类型

i = torch.tensor(1,dtype = torch.int32);print(i,i.dtype)
x = torch.tensor(2.0,dtype = torch.double);print(x,x.dtype)
""",
    # 002 §2.1: legacy constructor and .type()
    "002-2.1-legacy-constructor": """
# 使用构造函数 创建数据
i = torch.FloatTensor([32])
print(i)

# tensor([32,])

# 切换数据类型
i.type(torch.int)

# tensor([32], dtype=torch.int32)
""",
    # 002 §2.2: dimensions
    "002-2.2-dims": """
xx = torch.Tensor(np.ones((4,4,4)))
xx.dim()
# 3
xx.shape 
# torch.Size([4, 4, 4])
""",
    # 002 §2.3: NumPy conversion
    "002-2.3-numpy": """
# --------从numpy转为 tensor
xx = torch.from_numpy(np.ones((3,3))) # numpy变量改变 tensor变量也会改变

### 可以用clone() 方法拷贝张量，中断这种关联

tensor = torch.zeros(3)
#使用clone方法拷贝张量, 拷贝后的张量和原始张量内存独立
arr = tensor.clone().numpy() # 也可以使用tensor.data.numpy()


#-------- 从tensor转numpy
xt = xx.numpy()
""",
    # 002 §3.1: backward
    "002-3.1-backward": """
import numpy as np 
import torch 

# f(x) = a*x**2 + b*x + c的导数

x = torch.tensor(0.0,requires_grad = True) # x需要被求导
a = torch.tensor(1.0)
b = torch.tensor(-2.0)
c = torch.tensor(1.0)
y = a*torch.pow(x,2) + b*x + c 

y.backward()
dy_dx = x.grad
print(dy_dx)
""",
    # 002 §3.2: autograd.grad, second derivative through create_graph
    "002-3.2-autograd-grad": """
import numpy as np 
import torch 

# f(x) = a*x**2 + b*x + c的导数

x = torch.tensor(0.0,requires_grad = True) # x需要被求导
a = torch.tensor(1.0)
b = torch.tensor(-2.0)
c = torch.tensor(1.0)
y = a*torch.pow(x,2) + b*x + c


# create_graph 设置为 True 将允许创建更高阶的导数 
dy_dx = torch.autograd.grad(y,x,create_graph=True)[0]
print(dy_dx.data)

# 求二阶导数
dy2_dx2 = torch.autograd.grad(dy_dx,x)[0] 

print(dy2_dx2.data)
""",
    # 002 §3.3: the minimum by gradient descent with torch.optim.SGD
    "002-3.3-sgd-minimum": """
import numpy as np 
import torch 

# f(x) = a*x**2 + b*x + c的最小值

x = torch.tensor(0.0,requires_grad = True) # x需要被求导
a = torch.tensor(1.0)
b = torch.tensor(-2.0)
c = torch.tensor(1.0)

optimizer = torch.optim.SGD(params=[x],lr = 0.01)


def f(x):
    result = a*torch.pow(x,2) + b*x + c 
    return(result)

for i in range(500):
    optimizer.zero_grad()
    y = f(x)
    y.backward()
    optimizer.step()


print("y=",f(x).data,";","x=",x.data)
""",
    # 003: the autograd example (nn.Linear + optim.Adam + nn.MSELoss, printing the
    # trained state_dict). It initialises the layer from the global generator: both runs
    # start from manual_seed(0), and ember's generator draws PyTorch's numbers
    "003-autograd-adam": """
import torch

x = torch.tensor([1.0], requires_grad=True) # 定义一个张量x并打开requires_grad
model = torch.nn.Linear(1, 1) # 定义一个线性模型，y = wx + b
optimizer = torch.optim.Adam(model.parameters(), lr=0.01) # 定义优化器
criterion = torch.nn.MSELoss() # 定义损失函数，均方误差

for i in range(100):
    optimizer.zero_grad() # 梯度清零
    output = model(x) # 计算模型的输出
    loss = criterion(output, torch.tensor([3.0])) # 计算损失
    loss.backward() # 反向传播，计算梯度
    optimizer.step() # 更新参数
print(model.state_dict()) # 输出优化后的参数值
""",
    # 003: the torch.utils.data example (a Dataset of torch.randn rows)
    "003-dataset-dataloader": """
import torch
from torch.utils.data import Dataset, DataLoader

class MyDataset(Dataset):
  def __init__(self):
    self.data = torch.randn(100, 10)

  def __getitem__(self, index):
    return self.data[index], index

  def __len__(self):
    return len(self.data)

dataset = MyDataset()
dataloader = DataLoader(dataset, batch_size=10)

for data_batch, index_batch in dataloader:
  print(data_batch.shape, index_batch.shape)
""",
}


def _import_as_ember(name, globals=None, locals=None, fromlist=(), level=0):
    """`__import__` that answers torch and torch.* with ember and ember.*."""
    if level == 0 and (name == "torch" or name.startswith("torch.")):
        name = "ember" + name[len("torch"):]
    return builtins.__import__(name, globals, locals, fromlist, level)


def run_snippet(source, lib):
    """Everything `source` shows when run with `lib` as torch, as one string."""
    namespace = {"__name__": "__main__"}
    if lib is ember:
        namespace["__builtins__"] = dict(vars(builtins), __import__=_import_as_ember)
    out = io.StringIO()
    tree = ast.parse(PRELUDE + source)
    lib.manual_seed(0)   # both runs draw the same random numbers
    with contextlib.redirect_stdout(out):
        exec(compile("import torch\n", "<snippet>", "exec"), namespace)
        try:
            for stmt in tree.body:
                if isinstance(stmt, ast.Expr):
                    value = eval(compile(ast.Expression(stmt.value), "<snippet>", "eval"),
                                 namespace)
                    if value is not None:
                        print(repr(value))
                else:
                    exec(compile(ast.Module([stmt], []), "<snippet>", "exec"), namespace)
        except Exception as exc:
            print(f"raised {type(exc).__name__}")
        for name, value in namespace.items():
            if not name.startswith("_") and _shows(value, lib):
                print(f"{name} = {value!r}")
    return out.getvalue()


def _shows(value, lib):
    """Whether a namespace value is data the snippet made (not a module or function)."""
    if isinstance(value, bool) or isinstance(value, numbers.Number):
        return True
    return isinstance(value, (lib.Tensor, np.ndarray, lib.dtype))


@pytest.mark.parametrize("name", list(SNIPPETS))
def test_seed_snippet(name):
    expected = run_snippet(SNIPPETS[name], torch).replace("torch.", "ember.")
    got = run_snippet(SNIPPETS[name], ember)
    assert got == expected, f"\n--- ember\n{got}\n--- torch\n{expected}"


def test_snippets_show_what_the_tutorial_shows():
    """The runner itself: the outputs the tutorial text quotes appear in torch's run."""
    shown = run_snippet(SNIPPETS["002-2.1-inferred-dtypes"], torch)
    assert shown.startswith("tensor(1) torch.int64\ntensor(2.) torch.float32\n"
                            "tensor(True) torch.bool\n")
    assert "tensor([32], dtype=torch.int32)" in run_snippet(
        SNIPPETS["002-2.1-legacy-constructor"], torch)
    assert "3\ntorch.Size([4, 4, 4])\n" in run_snippet(SNIPPETS["002-2.2-dims"], torch)
    assert run_snippet(SNIPPETS["002-2.1-dtype-list"], torch).startswith("raised TypeError")

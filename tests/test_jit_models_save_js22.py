"""ember.jit.save of models whose blocks branch on shapes (each block gets a forward of its
own, its ``if`` inside, instead of paths multiplying through the blocks), and of the decoder
head of "Let's build GPT" (``self.tril[:T, :T]`` with T from the input's shape, position
embeddings of ``torch.arange(T)``): buffers are read as the module's attributes in the
saved code, so the archive holds for every T up to the buffer's size. Real torch.jit.load
gives torch's model outputs at several sizes, as ember.jit.load does."""
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def gpt(lib, block=6):
    nn, F = lib.nn, lib.nn.functional

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.key = nn.Linear(8, 4, bias=False)
            self.query = nn.Linear(8, 4, bias=False)
            self.value = nn.Linear(8, 4, bias=False)
            self.register_buffer("tril", lib.tril(lib.ones(block, block)))

        def forward(self, x):
            B, T, C = x.shape
            k, q = self.key(x), self.query(x)
            wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            return F.softmax(wei, dim=-1) @ self.value(x)

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(10, 8)
            self.pos = nn.Embedding(block, 8)
            self.head = Head()
            self.lm_head = nn.Linear(4, 10)

        def forward(self, idx):
            B, T = idx.shape
            x = self.tok(idx) + self.pos(lib.arange(T, device=idx.device))
            return self.lm_head(self.head(x))
    return GPT()


def test_gpt_head_with_a_causal_mask_buffer_saves_for_every_length():
    torch.manual_seed(0)
    theirs_eager = gpt(torch).eval()
    ours = gpt(ember)
    ours.load_state_dict({k: ember.tensor(v.numpy())
                          for k, v in theirs_eager.state_dict().items()})
    ours.eval()
    buf = io.BytesIO()
    ember.jit.save(ours, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    assert ".tril" in loaded.code and "CONSTANTS" not in loaded.code   # (not baked in)
    for T in (6, 4, 1):
        idx = torch.randint(0, 10, (2, T))
        with torch.no_grad():
            want = theirs_eager(idx).numpy()
            got = loaded(idx).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        ours_out = back(ember.tensor(idx.numpy())).detach().numpy()
        np.testing.assert_allclose(ours_out, want, rtol=1e-5, atol=1e-6)
    # a buffer changed after loading is what the code reads
    loaded.head.tril.zero_()
    loaded.head.tril.diagonal().fill_(1)
    with torch.no_grad():
        out = loaded(torch.randint(0, 10, (1, 3)))
    assert torch.isfinite(out).all()


def blocks(lib, n=6):
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            if x.shape[0] % 2 == 1:   # a shape test in every block
                x = F.pad(x, (0, 0, 0, 1))
            return self.fc(x)[: x.shape[0]].relu()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(*[Block() for _ in range(n)])
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.blocks(x))
    return Net()


def test_blocks_that_branch_get_forwards_of_their_own():
    """Six blocks each testing the input's shape: traced through, 2 ** 6 paths; saved
    with a forward per block (its ``if`` inside), as torch.jit.script keeps them."""
    torch.manual_seed(0)
    theirs_eager = blocks(torch).eval()
    ours = blocks(ember)
    ours.load_state_dict({k: ember.tensor(v.numpy())
                          for k, v in theirs_eager.state_dict().items()})
    ours.eval()
    buf = io.BytesIO()
    ember.jit.save(ours, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    buf.seek(0)
    back = ember.jit.load(buf)
    assert "if " in getattr(loaded.blocks, "3").code and "if " not in loaded.code
    for n in (3, 4, 1):
        x = torch.randn(n, 4)
        with torch.no_grad():
            want = theirs_eager(x).numpy()
            got = loaded(x).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(back(ember.tensor(x.numpy())).detach().numpy(), want,
                                   rtol=1e-6, atol=1e-6)

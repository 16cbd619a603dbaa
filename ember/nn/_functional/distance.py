"""nn.functional's vector-norm family: cosine_similarity, pairwise_distance, normalize."""


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1/max(||x1||, eps) * x2/max(||x2||, eps)) along dim. As in PyTorch the clamp
    acts on the value only: the norm's gradient is the unclamped one (finite at 0)."""
    from ..._ops.vector_norms import vector_norm

    def unit(x):
        n = vector_norm(x, 2, dim=dim, keepdim=True)
        return x / (n + (n.clamp_min(eps) - n).detach())
    return (unit(x1) * unit(x2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    d = x1 - x2 + eps
    from ..._ops.vector_norms import vector_norm
    return vector_norm(d, p, dim=-1, keepdim=keepdim)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps); written into `out` when given."""
    from ..._ops.vector_norms import vector_norm
    denom = vector_norm(input, p, dim=dim, keepdim=True).clamp_min(eps)
    if out is None:
        return input / denom
    from ..._ops.pointwise import div
    return div(input, denom, out=out)

"""Intersection over union of rotated boxes (``box_iou(..., fmt='cxcywhr')`` and the other
rotated formats), as torchvision's ``box_iou_rotated`` kernel defines it.

IoU(A, B) = |A n B| / (|A| + |B| - |A n B|), 0 when either box has an area below 1e-14,
clamped to [0, 1]. A n B is a convex polygon whose vertices are among the 16 crossings of
A's and B's sides and the 8 corners of one box that lie inside the other (each test
relaxed by 1e-5, so that no vertex is lost to rounding; duplicates are harmless). Its
area: the candidates sorted by angle about their centroid, then the shoelace formula.

Computed on the host in float64, for all pairs at once (in blocks of rows, to bound the
memory), and returned in the boxes' dtype on their device; not differentiable (neither is
torchvision's kernel)."""
import numpy as np

from ..._backend import like, to_host
from ..._tensor import Tensor

__all__ = ["box_iou_rotated"]

_EPS = 1e-5                 # relaxation of the "on a side" / "inside" tests
_PAIRS_PER_BLOCK = 1 << 16


def _corners(boxes):
    """(K, 5) (cx, cy, w, h, r degrees counter-clockwise) -> (K, 4, 2) corners, in order
    around the box: the width runs along (cos r, -sin r), the height along (sin r, cos r)
    (image coordinates, y down)."""
    cx, cy, w, h, r = boxes.T
    rad = np.deg2rad(r)
    along_w = np.stack([np.cos(rad), -np.sin(rad)], -1) * (w / 2)[:, None]
    along_h = np.stack([np.sin(rad), np.cos(rad)], -1) * (h / 2)[:, None]
    centre = np.stack([cx, cy], -1)
    return np.stack([centre - along_w - along_h, centre + along_w - along_h,
                     centre + along_w + along_h, centre - along_w + along_h], axis=1)


def _cross(a, b):
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _inside(points, rect):
    """Which of `points` (..., 4, 2) lie in the rectangles `rect` (..., 4, 2): their
    projections on the rectangle's two sides from corner 0 fall within the sides."""
    side_a = rect[..., 1, :] - rect[..., 0, :]
    side_b = rect[..., 3, :] - rect[..., 0, :]
    rel = points - rect[..., None, 0, :]
    pa = (rel * side_a[..., None, :]).sum(-1)
    pb = (rel * side_b[..., None, :]).sum(-1)
    aa = (side_a * side_a).sum(-1)[..., None]
    bb = (side_b * side_b).sum(-1)[..., None]
    return (pa > -_EPS) & (pb > -_EPS) & (pa < aa + _EPS) & (pb < bb + _EPS)


def _intersection_areas(p, q):
    """Areas (...) of the intersections of rectangles p and q, each (..., 4, 2)."""
    dp = np.roll(p, -1, axis=-2) - p                      # side i: corner i -> i + 1
    dq = np.roll(q, -1, axis=-2) - q
    # side i of p meets side j of q at p_i + t dp_i = q_j + s dq_j, 0 <= t, s <= 1
    dpi, dqj = dp[..., :, None, :], dq[..., None, :, :]
    det = _cross(dqj, dpi)
    offset = q[..., None, :, :] - p[..., :, None, :]
    parallel = np.abs(det) <= 1e-14
    safe = np.where(parallel, 1.0, det)
    t = _cross(dqj, offset) / safe
    s = _cross(dpi, offset) / safe
    crossing_ok = ~parallel & (t > -_EPS) & (t < 1 + _EPS) & (s > -_EPS) & (s < 1 + _EPS)
    crossings = p[..., :, None, :] + dpi * t[..., None]
    lead = p.shape[:-2]
    points = np.concatenate([crossings.reshape(lead + (16, 2)), p, q], axis=-2)
    valid = np.concatenate([crossing_ok.reshape(lead + (16,)), _inside(p, q),
                            _inside(q, p)], axis=-1)

    count = valid.sum(-1)
    centroid = (points * valid[..., None]).sum(-2) / np.maximum(count, 1)[..., None]
    rel = points - centroid[..., None, :]
    angle = np.where(valid, np.arctan2(rel[..., 1], rel[..., 0]), np.inf)
    order = np.argsort(angle, axis=-1, kind="stable")
    rel = np.take_along_axis(rel, order[..., None], axis=-2)
    index = np.arange(points.shape[-2])
    following = np.where(index + 1 < count[..., None], index + 1, 0)
    nxt = np.take_along_axis(rel, following[..., None], axis=-2)
    fan = np.where(index < count[..., None], _cross(rel, nxt), 0.0)
    return np.where(count > 2, np.abs(fan.sum(-1)) / 2, 0.0)


def _iou_matrix(b1, b2):
    """(N, M) IoU of (N, 5) and (M, 5) float64 cxcywhr arrays."""
    n, m = b1.shape[0], b2.shape[0]
    out = np.zeros((n, m))
    if n == 0 or m == 0:
        return out
    area1, area2 = b1[:, 2] * b1[:, 3], b2[:, 2] * b2[:, 3]
    # boxes whose circumscribed circles are apart do not meet: only the other pairs are
    # intersected
    radius1 = np.hypot(b1[:, 2], b1[:, 3]) / 2
    radius2 = np.hypot(b2[:, 2], b2[:, 3]) / 2
    corners1, corners2 = _corners(b1), _corners(b2)
    rows = max(1, _PAIRS_PER_BLOCK // m)
    for start in range(0, n, rows):
        block = b1[start:start + rows]
        gap = np.hypot(block[:, None, 0] - b2[None, :, 0], block[:, None, 1] - b2[None, :, 1])
        i, j = np.nonzero(gap <= radius1[start:start + rows, None] + radius2[None, :] + 1e-6)
        # each pair moved so that the midpoint of its centres is the origin: the corner
        # arithmetic then works on small numbers
        shift = (block[i, :2] + b2[j, :2])[:, None, :] / 2
        inter = np.zeros((block.shape[0], m))
        inter[i, j] = _intersection_areas(corners1[start + i] - shift, corners2[j] - shift)
        a1, a2 = area1[start:start + rows, None], area2[None, :]
        union = a1 + a2 - inter
        iou = np.where(union > 1e-14, inter / np.where(union > 1e-14, union, 1.0), 0.0)
        iou = np.where((a1 < 1e-14) | (a2 < 1e-14), 0.0, iou)
        out[start:start + rows] = np.clip(iou, 0.0, 1.0)
    return out


def box_iou_rotated(boxes1, boxes2):
    """Pairwise IoU, Tensor[..., N, M], of rotated boxes (cx, cy, w, h, r degrees)
    Tensor[..., N, 5] and Tensor[..., M, 5] (leading dimensions broadcast)."""
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if boxes.ndim < 2 or boxes.shape[-1] != 5:
            raise RuntimeError(f"{name} should be a tensor of shape [..., N, 5] (cx, cy, w, "
                               f"h, r), got shape {tuple(boxes.shape)}")
    if boxes1.device != boxes2.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {boxes1.device} and {boxes2.device}!")
    from ... import result_type
    dtype = result_type(boxes1, boxes2)
    b1 = to_host(boxes1.detach()._data).astype(np.float64)
    b2 = to_host(boxes2.detach()._data).astype(np.float64)
    lead = np.broadcast_shapes(b1.shape[:-2], b2.shape[:-2])
    batch = int(np.prod(lead))
    b1 = np.broadcast_to(b1, lead + b1.shape[-2:]).reshape((batch,) + b1.shape[-2:])
    b2 = np.broadcast_to(b2, lead + b2.shape[-2:]).reshape((batch,) + b2.shape[-2:])
    out = np.zeros((b1.shape[0], b1.shape[1], b2.shape[1]))
    for i in range(b1.shape[0]):
        out[i] = _iou_matrix(b1[i], b2[i])
    out = out.reshape(lead + out.shape[-2:])
    result = Tensor._make(like(np.ascontiguousarray(out), boxes1._data))
    return result.to(dtype) if dtype.is_floating_point else result.float()

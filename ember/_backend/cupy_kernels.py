"""Fused CUDA kernels (CuPy ElementwiseKernels) for hot composites: one launch where the
op-by-op form takes a dozen. Built on first use; `kernel(name)` is None where CuPy cannot
build kernels (the CPU test fake, tests/fakecupy.py), and callers then take the op-by-op
path, which computes the same formula."""
import math

import numpy as np

_SOURCES = {
    # Adam / AdamW step for one parameter, the formula of ember/optim/adam.py: L2 weight
    # decay (wd_l2) or decoupled decay (keep = 1 - lr * wd), m = lerp(m, g, 1 - b1),
    # v = b2 v + (1 - b2) g^2, p -= step_size * m / (sqrt(v) / bc2 + eps)
    "adam": (
        "T g, T keep, T wd_l2, T b1, T b2, T step_size, T bc2, T eps",
        "T x, T m, T v",
        """
        T gg = g + wd_l2 * x;
        x = x * keep;
        T w = 1 - b1;
        m = w < (T)0.5 ? m + w * (gg - m) : gg - (gg - m) * (1 - w);
        v = v * b2 + gg * gg * (1 - b2);
        x = x - step_size * m / (sqrt(v) / bc2 + eps);
        """),
    "adam_amsgrad": (
        "T g, T keep, T wd_l2, T b1, T b2, T step_size, T bc2, T eps",
        "T x, T m, T v, T vmax",
        """
        T gg = g + wd_l2 * x;
        x = x * keep;
        T w = 1 - b1;
        m = w < (T)0.5 ? m + w * (gg - m) : gg - (gg - m) * (1 - w);
        v = v * b2 + gg * gg * (1 - b2);
        vmax = max(vmax, v);
        x = x - step_size * m / (sqrt(vmax) / bc2 + eps);
        """),
    # SGD with momentum, after the first step (which only copies g into the buffer):
    # g += wd x; buf = momentum buf + (1 - dampening) g; x -= lr (g + momentum buf | buf)
    "sgd_momentum": (
        "T g, T wd, T momentum, T damp_keep, T lr, bool nesterov",
        "T x, T buf",
        """
        T gg = g + wd * x;
        buf = buf * momentum + damp_keep * gg;
        x = x - lr * (nesterov ? gg + momentum * buf : buf);
        """),
    # plain SGD (no momentum): x -= lr (g + wd x)
    "sgd": ("T g, T wd, T lr", "T x", "x = x - lr * (g + wd * x);"),
    # relu's gradient: 0 where the output is <= 0, else g (a NaN output passes g, as torch)
    "relu_backward": ("T g, T y", "T gx", "gx = y <= (T)0 ? (T)0 : g;"),
}
_BUILT = {}


def kernel(name):
    """The ElementwiseKernel `name`, or None where kernels cannot be built."""
    if name not in _BUILT:
        try:
            import cupy
            params_in, params_out, body = _SOURCES[name]
            _BUILT[name] = cupy.ElementwiseKernel(params_in, params_out, body,
                                                  f"ember_{name}")
        except (ImportError, NotImplementedError):
            _BUILT[name] = None
    return _BUILT[name]


# ------------------------------------------------------------------ raw (templated) kernels
# Built once per process as one module, instantiated for float and double. `raw(name, dtype)`
# is None where CuPy cannot build kernels (the CPU fake) or for other dtypes.
_RAW_SOURCE = r"""
// Sums a and b over the block, the same in every thread on return: a shared-memory tree
// (blockDim.x a power of two, at most 256) in a fixed order, so results do not depend on
// scheduling. Every thread of the block must call it; the barrier at the end lets a loop
// call it again (row_backward) without overwriting sa[0] before every thread has read it.
__device__ void block_sum2(double& a, double& b) {
    __shared__ double sa[256];
    __shared__ double sb[256];
    sa[threadIdx.x] = a;
    sb[threadIdx.x] = b;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k) {
            sa[threadIdx.x] += sa[threadIdx.x + k];
            sb[threadIdx.x] += sb[threadIdx.x + k];
        }
        __syncthreads();
    }
    a = sa[0];
    b = sb[0];
    __syncthreads();
}

// Statistics of each index c of x viewed as (A, C, B), over A and B, in double.
// Block (c, s) sums part s of index c's A*B values and writes part[(c*S + s)*2 + 0/1]:
//   mode 0: sum x, sum x*x;   mode 1: sum g, sum g*(x - mean[c]).
template<typename T>
__global__ void chan_partial(const T* x, const T* g, const T* mean, double* part,
                             int A, int C, int B, int S, int mode) {
    const int c = blockIdx.x;
    const int s = blockIdx.y;
    const int M = A * B;
    const int per = (M + S - 1) / S;
    const int j0 = s * per;
    const int j1 = j0 + per < M ? j0 + per : M;
    const double m = mode ? (double)mean[c] : 0.0;
    double a0 = 0.0, a1 = 0.0;
    for (int j = j0 + threadIdx.x; j < j1; j += blockDim.x) {
        const int n = j / B;
        const long long off = ((long long)n * C + c) * B + (j - n * B);
        const double v = (double)x[off];
        if (mode) {
            const double gv = (double)g[off];
            a0 += gv;
            a1 += gv * (v - m);
        } else {
            a0 += v;
            a1 += v * v;
        }
    }
    block_sum2(a0, a1);
    if (threadIdx.x == 0) {
        part[((long long)c * S + s) * 2] = a0;
        part[((long long)c * S + s) * 2 + 1] = a1;
    }
}

// The two sums of index c's S parts written by chan_partial, added in part order.
__device__ void part_sums(const double* part, int S, long long c, double& a, double& b) {
    a = 0.0;
    b = 0.0;
    for (int s = 0; s < S; ++s) {
        a += part[(c * S + s) * 2];
        b += part[(c * S + s) * 2 + 1];
    }
}

// Forward statistics from chan_partial's mode-0 parts: st = (mean, biased var, invstd),
// each C long; with running statistics (has_run), rm and rv move towards them as
// BatchNorm's momentum rule says (rv with the unbiased variance).
template<typename T>
__global__ void chan_stats(const double* part, int S, long long C, double M, double eps,
                           T* st, int has_run, T* rm, T* rv, double momentum) {
    for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < C;
         c += (long long)blockDim.x * gridDim.x) {
        double s0, s1;
        part_sums(part, S, c, s0, s1);
        const double mu = s0 / M;
        double var = s1 / M - mu * mu;
        if (var < 0.0) var = 0.0;
        st[c] = (T)mu;
        st[C + c] = (T)var;
        st[2 * C + c] = (T)(1.0 / sqrt((double)(T)var + eps));
        if (has_run) {
            rm[c] = (T)((1.0 - momentum) * (double)rm[c] + momentum * mu);
            rv[c] = (T)((1.0 - momentum) * (double)rv[c] + momentum * var * M / (M - 1.0));
        }
    }
}

// y = (x - mean[c]) * invstd[c] * w[k] + b[k] over x viewed as (A, C, B) (w, b optional),
// k = c (BatchNorm: one scale per channel) or, with along_b, the position in B (LayerNorm
// as (1, rows, D): w and b vary along the normalized row).
template<typename T>
__global__ void chan_affine(const T* x, const T* st, const T* w, const T* b, T* y,
                            int total, int C, int B, int has_w, int has_b, int along_b) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += blockDim.x * gridDim.x) {
        const int c = (i / B) % C;
        const int k = along_b ? i % B : c;
        T v = (x[i] - st[c]) * st[2 * C + c];
        if (has_w) v *= w[k];
        if (has_b) v += b[k];
        y[i] = v;
    }
}

// LayerNorm's dx over x viewed as (R, D), one block per row (looping over the rows beyond
// the grid), st from chan_stats: with xhat = (x - mean) invstd and gw = g w (or g),
// a = sum gw and c = sum gw xhat over the row (in double), dx = invstd (gw - a/D - xhat c/D).
template<typename T>
__global__ void row_backward(const T* g, const T* x, const T* st, const T* w, int has_w,
                             T* dx, int R, int D) {
    for (int r = blockIdx.x; r < R; r += gridDim.x) {
        const int off = r * D;
        const double m = (double)st[r], inv = (double)st[2 * R + r];
        double a = 0.0, c = 0.0;
        for (int j = threadIdx.x; j < D; j += blockDim.x) {
            const double gw = has_w ? (double)g[off + j] * (double)w[j] : (double)g[off + j];
            a += gw;
            c += gw * (((double)x[off + j] - m) * inv);
        }
        block_sum2(a, c);
        a /= D;
        c /= D;
        for (int j = threadIdx.x; j < D; j += blockDim.x) {
            const double gw = has_w ? (double)g[off + j] * (double)w[j] : (double)g[off + j];
            dx[off + j] = (T)(inv * (gw - a - ((double)x[off + j] - m) * inv * c));
        }
    }
}

// LayerNorm's weight and bias gradients over x viewed as (R, D), first pass: block row s
// (blockIdx.y) sums part s of the rows for each column j, in double, and writes
// part[(j*S + s)*2 + 0/1] = sum g xhat, sum g (the layout part_sums reads).
template<typename T>
__global__ void row_param_partial(const T* g, const T* x, const T* st, double* part, int R,
                                  int D, int S) {
    const int s = blockIdx.y;
    const int per = (R + S - 1) / S;
    const int r0 = s * per;
    const int r1 = r0 + per < R ? r0 + per : R;
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < D; j += blockDim.x * gridDim.x) {
        double a = 0.0, b = 0.0;
        for (int r = r0; r < r1; ++r) {
            const double gv = (double)g[r * D + j];
            a += gv * (((double)x[r * D + j] - (double)st[r]) * (double)st[2 * R + r]);
            b += gv;
        }
        part[((long long)j * S + s) * 2] = a;
        part[((long long)j * S + s) * 2 + 1] = b;
    }
}

// Backward coefficients from chan_partial's mode-1 parts (sg = sum g, sgc = sum g (x-mean))
// and invstd: co = (k, -k invstd^2 sgc / n, -k sg / n) with k = invstd w[c], for
// dx = g k + (x - mean) co[1] + co[2]; dw = sgc invstd, db = sg.
template<typename T>
__global__ void chan_backward_coef(const double* part, int S, long long C, double M,
                                   const T* st, const T* w, int has_w, T* co, T* dw, T* db) {
    for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < C;
         c += (long long)blockDim.x * gridDim.x) {
        double sg, sgc;
        part_sums(part, S, c, sg, sgc);
        const double inv = (double)st[2 * C + c];
        const double k = has_w ? inv * (double)w[c] : inv;
        co[c] = (T)k;
        co[C + c] = (T)(-k * inv * inv * sgc / M);
        co[2 * C + c] = (T)(-k * sg / M);
        dw[c] = (T)(sgc * inv);
        db[c] = (T)sg;
    }
}

// Second pass of row_param_partial: dw[j], db[j] = the sums of column j's S parts.
template<typename T>
__global__ void row_param_sums(const double* part, int S, int D, T* dw, T* db) {
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < D; j += blockDim.x * gridDim.x) {
        double a, b;
        part_sums(part, S, j, a, b);
        dw[j] = (T)a;
        db[j] = (T)b;
    }
}

// dx = g co[0][c] + (x - mean[c]) co[1][c] + co[2][c] over (A, C, B).
template<typename T>
__global__ void chan_backward_apply(const T* g, const T* x, const T* st, const T* co, T* dx,
                                    int total, int C, int B) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += blockDim.x * gridDim.x) {
        const int c = (i / B) % C;
        dx[i] = g[i] * co[c] + (x[i] - st[c]) * co[C + c] + co[2 * C + c];
    }
}

// Columns of a 2-D convolution's patches: cols (C, KH, KW, N, OH, OW) from x (N, C, H, W),
// zero outside the image (padding ph/pw before each spatial dim). Block row blockIdx.y is
// one (c, kh, kw); 32-bit index arithmetic (the caller checks the sizes).
template<typename T>
__global__ void im2col(const T* x, T* cols, int NP, int C, int H, int W, int KH, int KW,
                       int OH, int OW, int sh, int sw, int ph, int pw, int dh, int dw) {
    const int r = blockIdx.y;
    const int kw = r % KW, kh = (r / KW) % KH, c = r / (KW * KH);
    T* out = cols + (long long)r * NP;
    const int P = OH * OW;
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < NP; j += blockDim.x * gridDim.x) {
        const int n = j / P, q = j - n * P;
        const int oh = q / OW, ow = q - oh * OW;
        const int ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
        out[j] = (ih >= 0 && ih < H && iw >= 0 && iw < W)
            ? x[((long long)n * C + c) * H * W + (long long)ih * W + iw] : (T)0;
    }
}

// A convolution's output in NCHW from its GEMM: y (N, O, P) = src (O, N*P) with each
// output channel's bias b[o] added (has_b), in one pass over y.
template<typename T>
__global__ void conv_out(const T* src, const T* b, int has_b, T* y, int total, int O, int P,
                         int NP) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += blockDim.x * gridDim.x) {
        const int p = i % P, t = i / P, o = t % O, n = t / O;
        const T v = src[(long long)o * NP + (long long)n * P + p];
        y[i] = has_b ? v + b[o] : v;
    }
}

// The adjoint of im2col: dx (N, C, H, W) = the sum over the taps (kh, kw) whose window
// reads (h, w) of cols ((c*KH + kh)*KW + kw, (n*OH + oh)*OW + ow), a gather in a fixed
// tap order (no atomics). cols may hold more than 2^31 values: its offsets are 64-bit.
template<typename T>
__global__ void col2im(const T* cols, T* dx, int total, int C, int H, int W, int KH, int KW,
                       int OH, int OW, int sh, int sw, int ph, int pw, int dh, int dw,
                       long long NP) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += blockDim.x * gridDim.x) {
        const int w = i % W, t = i / W, h = t % H, nc = t / H, c = nc % C, n = nc / C;
        T acc = (T)0;
        for (int kh = 0; kh < KH; ++kh) {
            const int a = h + ph - kh * dh;   // oh * sh when tap kh of row oh reads row h
            if (a < 0 || a % sh) continue;
            const int oh = a / sh;
            if (oh >= OH) continue;
            for (int kw = 0; kw < KW; ++kw) {
                const int e = w + pw - kw * dw;
                if (e < 0 || e % sw) continue;
                const int ow = e / sw;
                if (ow >= OW) continue;
                acc += cols[(long long)((c * KH + kh) * KW + kw) * NP +
                            ((long long)n * OH + oh) * OW + ow];
            }
        }
        dx[i] = acc;
    }
}

// 2-D max pooling (1-D as height 1): y and the flat in-plane index of each window's first
// maximum; a NaN wins (the first one), as on the CPU path. Padding is never a candidate: a
// window with no tap inside the image (dilation over a narrow input) gives -inf and -1.
template<typename T>
__global__ void maxpool2d(const T* x, T* y, long long* idx, int total, int H, int W, int OH,
                          int OW, int KH, int KW, int sh, int sw, int ph, int pw, int dh,
                          int dw) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += blockDim.x * gridDim.x) {
        const int ow = i % OW, t = i / OW, oh = t % OH, nc = t / OH;
        const T* plane = x + (long long)nc * H * W;
        T best = (T)__longlong_as_double(0xfff0000000000000ULL);   // -inf
        int bi = -1;
        for (int kh = 0; kh < KH; ++kh) {
            const int ih = oh * sh - ph + kh * dh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < KW; ++kw) {
                const int iw = ow * sw - pw + kw * dw;
                if (iw < 0 || iw >= W) continue;
                const T v = plane[ih * W + iw];
                if (bi < 0 || v > best || v != v) {
                    best = v;
                    bi = ih * W + iw;
                    if (v != v) { kh = KH; break; }
                }
            }
        }
        y[i] = best;
        idx[i] = bi;
    }
}

// The gradient of max pooling: dx (zeroed by the caller) += g at each window's index (none
// for a window without one, index -1).
template<typename T>
__global__ void maxpool_backward(const T* g, const long long* idx, T* dx, int total, int P,
                                 int HW) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += blockDim.x * gridDim.x) {
        if (idx[i] >= 0) atomicAdd(dx + (long long)(i / P) * HW + idx[i], g[i]);
    }
}

// The maximum of row[0:C] across a warp (each lane reads every 32nd value), in every lane;
// a NaN wins (as NumPy's max), -inf for an empty row.
template<typename T>
__device__ T warp_row_max(const T* row, int C, int lane) {
    T m = (T)__longlong_as_double(0xfff0000000000000ULL);   // -inf
    for (int c = lane; c < C; c += 32) {
        const T v = row[c];
        if (v > m || v != v) m = v;
    }
    for (int o = 16; o > 0; o >>= 1) {
        const T v = __shfl_xor_sync(0xffffffffu, m, o);
        if (v > m || v != v) m = v;
    }
    return m;
}

// The sum of v across a warp, in every lane.
template<typename T>
__device__ T warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Cross-entropy of (N, C) logits with class indices, one warp per row: lse_n = log sum_c
// exp x_nc, w_n = 0 (ignore_index), weight[t_n] (or 1), loss_n = w_n (lse_n - x_n,t_n).
// A target out of range (not ignore_index) gives w_n = NaN and sets bad = {1, target}, the
// deferred device check the host raises at its next read (device_check).
template<typename T>
__global__ void ce_rows(const T* x, const long long* t, const T* weight, int has_w,
                        long long ignore, int N, int C, T* loss, T* wout, T* lse,
                        long long* bad) {
    const long long n = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (n >= N) return;
    const T* row = x + (long long)n * C;
    const T m = warp_row_max(row, C, lane);
    T s = (T)0;
    for (int c = lane; c < C; c += 32) s += exp(row[c] - m);
    s = warp_sum(s);
    if (lane == 0) {
        const long long tn = t[n];
        const bool valid = tn != ignore, inside = tn >= 0 && tn < C;
        const T w = !valid ? (T)0 : !inside ? (T)__longlong_as_double(0x7ff8000000000000ULL)
                  : has_w ? weight[tn] : (T)1;
        if (valid && !inside) {   // racing rows each write theirs: any one will do
            bad[1] = tn;
            bad[0] = 1;
        }
        const T l = m + log(s);
        lse[n] = l;
        wout[n] = w;
        loss[n] = valid ? w * (l - (inside ? row[tn] : (T)0)) : (T)0;
    }
}

// Class targets in range, for the losses whose op-by-op CUDA path indexes with them
// (nll_loss): a target outside [0, C) that is not ignore sets bad = {1, target}, a
// deferred device check. (T is unused: the module instantiates every kernel per type.)
template<typename T>
__global__ void class_check(const long long* t, long long ignore, long long C, int n,
                            long long* bad) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        const long long v = t[i];
        if (v != ignore && (v < 0 || v >= C)) {   // racing threads each write theirs
            bad[1] = v;
            bad[0] = 1;
        }
    }
}

// Softmax numerators in place, one warp per row of s (R, S) (attention's scores):
// s = exp(s - max) and r = 1 / the row's sum; a NaN max propagates (as the op-by-op form);
// a row whose max is -inf (every position masked) becomes zeros, its r 1.
template<typename T>
__global__ void exp_rows(T* s, T* r, long long R, int S) {
    const int lane = threadIdx.x & 31;
    const long long warps = (long long)gridDim.x * (blockDim.x >> 5);
    for (long long n = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; n < R;
         n += warps) {
        T* row = s + n * S;
        T m = warp_row_max(row, S, lane);
        const bool dead = m == (T)__longlong_as_double(0xfff0000000000000ULL);
        if (dead) m = (T)0;
        T sum = (T)0;
        for (int c = lane; c < S; c += 32) {
            const T e = exp(row[c] - m);
            row[c] = e;
            sum += e;
        }
        sum = warp_sum(sum);
        if (lane == 0) r[n] = dead ? (T)1 : (T)1 / sum;
    }
}

// out = sum loss (sum) or sum loss / sum w (mean; NaN when every weight is 0, as torch);
// denom = sum w. One block, sums in double.
template<typename T>
__global__ void ce_reduce(const T* loss, const T* w, int N, int mean, T* out, T* denom) {
    double a = 0.0, b = 0.0;
    for (int i = threadIdx.x; i < N; i += blockDim.x) {
        a += (double)loss[i];
        b += (double)w[i];
    }
    block_sum2(a, b);
    if (threadIdx.x == 0) {
        out[0] = (T)(mean ? a / b : a);
        denom[0] = (T)b;
    }
}

// dx = g_n w_n / d (softmax(x_n) - onehot(t_n)), g one value (per_row 0) or one per row,
// d the total weight (mean; 1 where 0) or 1.
template<typename T>
__global__ void ce_backward(const T* x, const long long* t, const T* lse, const T* w,
                            const T* grad, int per_row, const T* denom, int mean, int N, int C,
                            T* dx) {
    const int total = N * C;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += blockDim.x * gridDim.x) {
        const int n = i / C, c = i - n * C;
        T d = mean ? denom[0] : (T)1;
        if (d == (T)0) d = (T)1;
        const T scale = (per_row ? grad[n] : grad[0]) * w[n] / d;
        dx[i] = scale * (exp(x[i] - lse[n]) - (c == t[n] ? (T)1 : (T)0));
    }
}
"""
_RAW_NAMES = ("chan_partial", "chan_stats", "chan_affine", "chan_backward_coef",
              "chan_backward_apply", "row_backward", "row_param_partial", "row_param_sums",
              "im2col", "conv_out", "col2im", "maxpool2d", "maxpool_backward", "ce_rows",
              "ce_reduce", "ce_backward", "exp_rows", "class_check")
_RAW_TYPES = {"f": "float", "d": "double"}   # dtype.char -> C type
_RAW = {}


def raw(name, dtype):
    """The raw kernel `name` instantiated for `dtype` (float32/float64), or None (other
    dtypes, or no kernels: the CPU fake)."""
    return template_kernel(_RAW, _RAW_SOURCE, _RAW_NAMES, ("-std=c++14",), name, dtype)


def template_kernel(cache, source, names, options, name, dtype):
    """Kernel template `name` of `source` instantiated for `dtype`'s C type (float32/64),
    from one RawModule that instantiates every one of `names` for both types, built on
    first use and kept in `cache` with the kernels; None for other dtypes, or where CuPy
    cannot build kernels (the CPU fake)."""
    ctype = _RAW_TYPES.get(dtype.char)
    if ctype is None:
        return None
    fn = cache.get((name, ctype), False)
    if fn is False:
        if "module" not in cache:
            try:
                import cupy
                exprs = [f"{n}<{t}>" for n in names for t in _RAW_TYPES.values()]
                cache["module"] = cupy.RawModule(code=source, options=options,
                                                 name_expressions=exprs)
            except (ImportError, NotImplementedError):
                cache["module"] = None
        module = cache["module"]
        fn = cache[(name, ctype)] = None if module is None else module.get_function(
            f"{name}<{ctype}>")
    return fn


# The kernels index with 32-bit ints in grid-stride loops: the sizes they take stay below
# 2**31 by more than one stride (at most 65535 blocks of 256 threads, under 2**25), so the
# last step cannot overflow.
INDEX_LIMIT = 2 ** 31 - 2 ** 25
MAX_BLOCKS = 65535   # per grid dimension, as the launches here use it


def _grid(total, threads=256):
    return (max(1, min((total + threads - 1) // threads, MAX_BLOCKS)),), (threads,)


_i32, _i64, _f64 = np.int32, np.int64, np.float64


def _parts(xp, A, C, B):
    """(S, part buffer): how many blocks share one index's A*B values (the GPU filled with
    some 1000 blocks, each with at least 2048 values)."""
    S = int(max(1, min(-(-1024 // C), (A * B) // 2048)))
    return S, xp.empty(C * S * 2, dtype=xp.float64)


def channel_stats(x, A, C, B, eps, running=None, momentum=0.0):
    """(3, C) array (mean, biased variance, 1/sqrt(var + eps)) of contiguous x viewed as
    (A, C, B), over A and B; `running` (mean, var) arrays of x's dtype move by BatchNorm's
    momentum rule. None where the kernels do not apply (dtype, no kernels)."""
    part_k, stats_k = raw("chan_partial", x.dtype), raw("chan_stats", x.dtype)
    if part_k is None:
        return None
    import cupy as xp
    S, part = _parts(xp, A, C, B)
    part_k((C, S), (256,), (x, x, x, part, _i32(A), _i32(C), _i32(B), _i32(S), _i32(0)))
    st = xp.empty((3, C), dtype=x.dtype)
    rm, rv = running if running is not None else (st, st)
    stats_k(*_grid(C), (part, _i32(S), _i64(C), _f64(A * B), _f64(eps), st,
                        _i32(running is not None), rm, rv, _f64(momentum)))
    return st


def channel_affine(x, st, w, b, A, C, B, along_b=False):
    """(x - mean) * invstd * w + b for x viewed as (A, C, B), st from channel_stats, w and b
    C-long arrays (B-long with along_b: indexed by the position in B) or None."""
    import cupy as xp
    y = xp.empty_like(x)
    raw("chan_affine", x.dtype)(*_grid(x.size), (
        x, st, st if w is None else w, st if b is None else b, y, _i32(x.size), _i32(C),
        _i32(B), _i32(w is not None), _i32(b is not None), _i32(along_b)))
    return y


def channel_backward(g, x, st, w, A, C, B):
    """(dx, dw, db) of channel_affine's output given its gradient g (contiguous, x's
    shape): dw and db C-long (the sums over A and B)."""
    import cupy as xp
    dt = x.dtype
    S, part = _parts(xp, A, C, B)
    raw("chan_partial", dt)((C, S), (256,), (x, g, st, part, _i32(A), _i32(C), _i32(B),
                                             _i32(S), _i32(1)))
    # dw and db arrays of their own (not rows of one): the engine keeps a gradient that
    # nothing else holds as a leaf's .grad without copying it
    co, dw, db = xp.empty((3, C), dtype=dt), xp.empty(C, dtype=dt), xp.empty(C, dtype=dt)
    raw("chan_backward_coef", dt)(*_grid(C), (part, _i32(S), _i64(C), _f64(A * B), st,
                                              st if w is None else w, _i32(w is not None), co,
                                              dw, db))
    dx = xp.empty_like(x)
    raw("chan_backward_apply", dt)(*_grid(x.size), (g, x, st, co, dx, _i32(x.size), _i32(C),
                                                    _i32(B)))
    return dx, dw, db


def _rows_apply(x, *arrays):
    """Whether the row kernels (LayerNorm) take contiguous x and arrays of x's dtype (or
    None): kernels built, float32/64, under INDEX_LIMIT."""
    return raw("row_backward", x.dtype) is not None and 0 < x.size < INDEX_LIMIT and \
        all(a is None or a.dtype == x.dtype for a in arrays)


def row_affine(x, st, w, b, R, D):
    """LayerNorm's (x - mean[r]) * invstd[r] * w + b for contiguous x viewed as (R, D), st
    from channel_stats over (1, R, D), w and b D-long arrays (varying along the row) or
    None; None where the kernels do not apply."""
    if not _rows_apply(x, w, b):
        return None
    import cupy as xp
    w, b = (None if a is None else xp.ascontiguousarray(a) for a in (w, b))
    return channel_affine(x, st, w, b, 1, R, D, along_b=True)


def row_backward(g, x, st, w, R, D, need_x=True, need_wb=True):
    """(dx, dw, db) of row_affine's output given its gradient g (x's shape): dw = sum_r g
    xhat and db = sum_r g D-long, summed in a fixed order (two passes over S parts of the
    rows); dx (or dw and db) None when not needed. None where the kernels do not apply."""
    if not _rows_apply(x, w):
        return None
    import cupy as xp
    dt = x.dtype
    g = xp.ascontiguousarray(g.astype(dt, copy=False))
    w = None if w is None else xp.ascontiguousarray(w)
    dx = dw = db = None
    if need_x:
        dx = xp.empty_like(x)
        threads = min(256, max(32, 1 << (D - 1).bit_length()))
        raw("row_backward", dt)((min(R, MAX_BLOCKS),), (threads,), (
            g, x, st, st if w is None else w, _i32(w is not None), dx, _i32(R), _i32(D)))
    if need_wb:
        cols = min(-(-D // 256), MAX_BLOCKS)
        S = int(max(1, min(-(-1024 // cols), R // 32, MAX_BLOCKS)))
        part = xp.empty(D * S * 2, dtype=xp.float64)
        raw("row_param_partial", dt)((cols, S), (256,), (g, x, st, part, _i32(R), _i32(D),
                                                         _i32(S)))
        dw, db = xp.empty(D, dtype=dt), xp.empty(D, dtype=dt)
        raw("row_param_sums", dt)(*_grid(D), (part, _i32(S), _i32(D), dw, db))
    return dx, dw, db


def im2col(x, k, stride, pads, dilation, out):
    """The (C*KH*KW, N*OH*OW) patch columns of contiguous x (N, C, H, W) for a 2-D
    convolution (pads: the padding before each dim); None where the kernel does not apply."""
    fn = raw("im2col", x.dtype)
    if fn is None:
        return None
    import cupy as xp
    N, C, H, W = x.shape
    rows, NP = C * k[0] * k[1], N * out[0] * out[1]
    if rows > 65535 or NP >= INDEX_LIMIT or rows == 0 or NP == 0:
        return None
    cols = xp.empty((rows, NP), dtype=x.dtype)
    fn((min(-(-NP // 256), max(4, 16384 // rows)), rows), (256,), (
        x, cols, _i32(NP), _i32(C), _i32(H), _i32(W), _i32(k[0]), _i32(k[1]), _i32(out[0]),
        _i32(out[1]), _i32(stride[0]), _i32(stride[1]), _i32(pads[0]), _i32(pads[1]),
        _i32(dilation[0]), _i32(dilation[1])))
    return cols


def conv_out(src, b, N, O, P):
    """A convolution's output (N, O, P) from its GEMM result src (O, N*P), plus b (O,) when
    not None; None where the kernel does not apply."""
    fn = raw("conv_out", src.dtype)
    total = N * O * P
    if fn is None or total >= INDEX_LIMIT or total == 0 or not src.flags.c_contiguous or \
            (b is not None and b.dtype != src.dtype):
        return None
    import cupy as xp
    y = xp.empty((N, O, P), dtype=src.dtype)
    fn(*_grid(total), (src, src if b is None else xp.ascontiguousarray(b), _i32(b is not None),
                       y, _i32(total), _i32(O), _i32(P), _i32(N * P)))
    return y


def col2im(cols, x_shape, k, stride, pads, dilation, out):
    """The adjoint of im2col: (N, C, H, W) = x_shape, each value the sum of the columns
    (C*KH*KW, N*OH*OW) of the windows that read it (pads: the padding before each dim);
    None where the kernel does not apply."""
    fn = raw("col2im", cols.dtype)
    N, C, H, W = x_shape
    total = N * C * H * W
    if fn is None or total >= INDEX_LIMIT or total == 0 or cols.size == 0 or \
            C * k[0] * k[1] >= INDEX_LIMIT or not cols.flags.c_contiguous:
        return None
    import cupy as xp
    dx = xp.empty((N, C, H, W), dtype=cols.dtype)
    fn(*_grid(total), (cols, dx, _i32(total), _i32(C), _i32(H), _i32(W), _i32(k[0]),
                       _i32(k[1]), _i32(out[0]), _i32(out[1]), _i32(stride[0]),
                       _i32(stride[1]), _i32(pads[0]), _i32(pads[1]), _i32(dilation[0]),
                       _i32(dilation[1]), _i64(N * out[0] * out[1])))
    return dx


def maxpool2d(x, k, stride, pads, dilation, out):
    """(max, flat in-plane index) of each window of contiguous x (N, C, H, W) for 2-D max
    pooling; None where the kernel does not apply."""
    fn = raw("maxpool2d", x.dtype)
    N, C, H, W = x.shape
    total = N * C * out[0] * out[1]
    if fn is None or x.size >= INDEX_LIMIT or total == 0:
        return None
    import cupy as xp
    y = xp.empty((N, C) + tuple(out), dtype=x.dtype)
    idx = xp.empty((N, C) + tuple(out), dtype=np.int64)
    fn(*_grid(total), (x, y, idx, _i32(total), _i32(H), _i32(W), _i32(out[0]), _i32(out[1]),
                       _i32(k[0]), _i32(k[1]), _i32(stride[0]), _i32(stride[1]), _i32(pads[0]),
                       _i32(pads[1]), _i32(dilation[0]), _i32(dilation[1])))
    return y, idx


def maxpool_backward(g, idx, in_shape):
    """Zeros of in_shape with each value of g (N, C, *out) added at its window's flat
    in-plane index; None where the kernel does not apply."""
    fn = raw("maxpool_backward", g.dtype)
    size = math.prod(in_shape)
    if fn is None or size >= INDEX_LIMIT or g.size >= INDEX_LIMIT:
        return None
    import cupy as xp
    dx = xp.zeros(in_shape, dtype=g.dtype)
    if g.size:
        HW = math.prod(in_shape[2:])
        fn(*_grid(g.size), (xp.ascontiguousarray(g), xp.ascontiguousarray(idx), dx,
                            _i32(g.size), _i32(g.size // max(1, in_shape[0] * in_shape[1])),
                            _i32(HW)))
    return dx


# ------------------------------------------------------------------ deferred device checks
# Where PyTorch's CUDA kernels stop on bad input with a device-side assert (a class target
# out of range), ember's record it in a small flag array on the device instead: a host-side
# check would read the device back and stall every step. The host looks at the flags of
# the checks launched since it last looked when it next reads from the device anyway
# (asnumpy: .item(), .cpu(), printing) or synchronizes, and raises there -- where PyTorch's
# assert surfaces too, at the next synchronizing call.
_FLAGS = {}     # (device id, message) -> int64 device array [failed, value], zeroed once
_PENDING = {}   # the same, for the checks launched since the host last looked


def device_check(xp, device, message):
    """The flag array [failed, value] a kernel sets on device `device` when it meets the
    bad input `message` describes ("... {} ..." formatted with the value)."""
    key = (device, message)
    flag = _FLAGS.get(key)
    if flag is None:
        with xp.cuda.Device(device):
            flag = _FLAGS[key] = xp.zeros(2, dtype=np.int64)
    _PENDING[key] = flag
    return flag


def raise_failed_checks():
    """Raise PyTorch's RuntimeError for a device check that failed since the last look
    (its flag is cleared, so the next read goes through). Reads the device: call it only
    where the host reads or waits for the device anyway."""
    if not _PENDING:
        return
    pending = list(_PENDING.items())
    _PENDING.clear()
    failures = []
    for (device, message), flag in pending:   # every flag looked at and cleared, then raise
        failed, value = (int(v) for v in flag.get())
        if failed:
            flag.fill(0)
            failures.append(f"{message.format(value)} (on cuda:{device})")
    if failures:
        raise RuntimeError(
            f"CUDA error: device-side assert triggered (ember: {' '.join(failures)} The "
            f"kernel ran before this call; like PyTorch's device-side asserts, the error "
            f"surfaces at the next call that reads from or waits for the device.)")


def class_target_check(t, C, ignore_index, name):
    """A deferred device check that every class target of CuPy int64 array t is in
    [0, C) or is ignore_index (raised at the host's next read, as torch's device assert);
    False where the kernel does not apply (NumPy arrays: the caller checks on the host)."""
    if type(t) is np.ndarray or t.size == 0 or t.size >= INDEX_LIMIT:
        return False
    fn = raw("class_check", np.dtype(np.float32))
    if fn is None:
        return False
    import cupy as xp
    bad = device_check(xp, t.device.id, name + ": Target {} is out of bounds.")
    fn(*_grid(t.size), (xp.ascontiguousarray(t), _i64(ignore_index), _i64(C), _i32(t.size),
                        bad))
    return True


def exp_rows(s, r):
    """s = exp(s - rowmax(s)) in place over the last dim of contiguous s, r = 1 / the row
    sums (r: s's shape with last dim 1, contiguous); False where the kernel does not apply."""
    if type(s) is np.ndarray:
        return False
    fn = raw("exp_rows", s.dtype)
    if fn is None or not s.flags.c_contiguous or not r.flags.c_contiguous or \
            r.dtype != s.dtype or s.size == 0 or s.shape[-1] >= INDEX_LIMIT:
        return False
    R = s.size // s.shape[-1]
    fn((min(-(-R * 32 // 256), MAX_BLOCKS),), (256,), (s, r, _i64(R), _i32(s.shape[-1])))
    return True


def cross_entropy(x, t, weight, ignore_index, reduction):
    """(loss, (lse, w, denom)) of contiguous (N, C) logits x and int64 targets t (reduction
    'none' / 'sum' / 'mean'), the cache for cross_entropy_backward; None where the kernels
    do not apply. A target out of range that is not ignore_index gives a NaN loss and fails
    a deferred device check (raised at the host's next read, as torch's device assert)."""
    fn = raw("ce_rows", x.dtype)
    N, C = x.shape
    if fn is None or x.size >= INDEX_LIMIT or N == 0 or not x.flags.c_contiguous or \
            (weight is not None and weight.dtype != x.dtype):
        return None
    import cupy as xp
    loss, w, lse = (xp.empty(N, dtype=x.dtype) for _ in range(3))
    bad = device_check(xp, x.device.id, "cross_entropy: Target {} is out of bounds.")
    fn((-(-N * 32 // 256),), (256,), (
        x, xp.ascontiguousarray(t), x if weight is None else xp.ascontiguousarray(weight),
        _i32(weight is not None), _i64(ignore_index), _i32(N), _i32(C), loss, w, lse, bad))
    denom = None
    if reduction != "none":
        out, denom = xp.empty((), dtype=x.dtype), xp.empty((), dtype=x.dtype)
        raw("ce_reduce", x.dtype)((1,), (256,), (loss, w, _i32(N), _i32(reduction == "mean"),
                                                 out, denom))
        loss = out
    return loss, (lse, w, denom if reduction == "mean" else None)


def cross_entropy_backward(x, t, cache, grad):
    """The gradient of cross_entropy's loss w.r.t. x given the loss's gradient `grad`."""
    import cupy as xp
    lse, w, denom = cache
    N, C = x.shape
    dx = xp.empty_like(x)
    per_row = grad.ndim > 0   # (ascontiguousarray makes a 0-dim array 1-dim)
    g = xp.ascontiguousarray(grad.astype(x.dtype, copy=False))
    raw("ce_backward", x.dtype)(*_grid(x.size), (
        x, t, lse, w, g, _i32(per_row), w if denom is None else denom,
        _i32(denom is not None), _i32(N), _i32(C), dx))
    return dx

# ------------------------------------------------------------------ TF32 matrix products
# Which float32 GEMMs may run on TF32 tensor cores (10-bit mantissa inputs, float32
# accumulation), as PyTorch's flags say: convolutions yes (torch.backends.cudnn.allow_tf32
# defaults to True), matmul no (torch.backends.cuda.matmul.allow_tf32, False unless
# set_float32_matmul_precision('high'/'medium')). ember.backends sets these.
TF32 = {"conv": True, "matmul": False}


class _TF32:
    """Context: CuPy's float32 matmuls on TF32 while inside (CuPy's compute-type switch;
    a no-op where that is missing, e.g. the CPU fake)."""
    __slots__ = ("prev",)

    def __enter__(self):
        try:
            from cupy._core import _routines_linalg as linalg
            self.prev = linalg.get_compute_type(np.float32)
            linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32)
        except (ImportError, AttributeError):
            self.prev = None

    def __exit__(self, *exc):
        if self.prev is not None:
            from cupy._core import _routines_linalg as linalg
            linalg.set_compute_type(np.float32, self.prev)


class _Nothing:
    __slots__ = ()

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        pass


_NOTHING = _Nothing()


def tf32(kind, xp):
    """A context under which namespace xp's float32 GEMMs of `kind` ('conv' or 'matmul')
    use TF32 when its flag allows (CuPy only)."""
    return _TF32() if TF32[kind] and xp is not np else _NOTHING

// CUDA C++ on the CPU: the subset of the CUDA language and runtime that ember's kernels
// (ember/_backend/cupy_kernels.py) use, so that g++ compiles them into a shared library
// whose kernels tests/cuda_emu.py launches through ctypes.
//
// A launch runs its blocks one after another. The threads of a block are fibers on the
// calling OS thread: each runs until it reaches __syncthreads() or a warp intrinsic
// (__shfl_*_sync, __syncwarp, __ballot_sync ...), or returns; then the next one runs.
// A barrier opens when every thread of the block that has not returned waits at it; a
// warp intrinsic when every lane its mask names waits at one (a mask naming a returned
// or missing lane, or a deadlock between barrier and warp, fails the launch: it would
// hang or be undefined on a GPU). __shared__ is `static`: one copy, shared by the
// threads of the block that runs, which is correct because blocks never overlap.
//
// Not modelled: memory ordering and races (a thread's writes are seen by every thread
// that runs after it, so a missing __threadfence or a racy non-atomic update gives one
// fixed answer here), warp lockstep (lanes never run together without a _sync
// intrinsic), out-of-bounds accesses (tests put guard bytes around arrays), CUDA's own
// math library (the host's libm: last-ulp differences), dynamic shared memory, streams,
// textures, cooperative groups, half types.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>
// Threads switch by a few lines of assembly on x86-64 (nanoseconds), elsewhere (or with
// -DEMU_UCONTEXT) by swapcontext (a system call per switch for the signal mask).
#if defined(__x86_64__) && !defined(EMU_UCONTEXT)
#define EMU_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

#define EMU_EXPORT extern "C" __attribute__((visibility("default")))

#define __global__
#define __device__
#define __host__
#define __noinline__ __attribute__((noinline))
#define __forceinline__ inline __attribute__((always_inline))
#define __shared__ static
#define __launch_bounds__(...)

// ------------------------------------------------------------------ indices
struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1)
        : x(x_), y(y_), z(z_) {}
};

// The running fiber's indices, set by the scheduler before it resumes a thread. Not
// `static`: the compiler must reload them after every call that may switch threads.
uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
constexpr int warpSize = 32;

// ------------------------------------------------------------------ math
using std::abs;
using std::ceil;
using std::cos;
using std::exp;
using std::exp2;
using std::expm1;
using std::fabs;
using std::floor;
using std::fmax;
using std::fmin;
using std::isfinite;
using std::isinf;
using std::isnan;
using std::log;
using std::log1p;
using std::log2;
using std::pow;
using std::round;
using std::sin;
using std::sqrt;
using std::tanh;
using std::trunc;

// CUDA's max/min: fmax/fmin for floating types (a NaN loses), else the usual comparison
template <typename A, typename B>
inline std::common_type_t<A, B> max(A a, B b) {
    using C = std::common_type_t<A, B>;
    if constexpr (std::is_floating_point_v<C>) return std::fmax((C)a, (C)b);
    else return (C)a < (C)b ? (C)b : (C)a;
}
template <typename A, typename B>
inline std::common_type_t<A, B> min(A a, B b) {
    using C = std::common_type_t<A, B>;
    if constexpr (std::is_floating_point_v<C>) return std::fmin((C)a, (C)b);
    else return (C)b < (C)a ? (C)b : (C)a;
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float rsqrt(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }

template <typename To, typename From>
inline To emu_bits(From v) {
    static_assert(sizeof(To) == sizeof(From));
    To out;
    std::memcpy(&out, &v, sizeof out);
    return out;
}
inline double __longlong_as_double(long long v) { return emu_bits<double>(v); }
inline long long __double_as_longlong(double v) { return emu_bits<long long>(v); }
inline float __int_as_float(int v) { return emu_bits<float>(v); }
inline int __float_as_int(float v) { return emu_bits<int>(v); }
inline float __uint_as_float(unsigned int v) { return emu_bits<float>(v); }
inline unsigned int __float_as_uint(float v) { return emu_bits<unsigned int>(v); }

// ------------------------------------------------------------------ atomics
// Threads switch only at barriers and warp intrinsics, so a read-modify-write is atomic.
template <typename T>
inline T emu_atomic_add(T* p, T v) {
    T old = *p;
    *p = old + v;
    return old;
}
inline int atomicAdd(int* p, int v) { return emu_atomic_add(p, v); }
inline unsigned int atomicAdd(unsigned int* p, unsigned int v) { return emu_atomic_add(p, v); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return emu_atomic_add(p, v);
}
inline float atomicAdd(float* p, float v) { return emu_atomic_add(p, v); }
inline double atomicAdd(double* p, double v) { return emu_atomic_add(p, v); }
template <typename T>
inline T atomicMax(T* p, T v) {
    T old = *p;
    *p = old < v ? v : old;
    return old;
}
template <typename T>
inline T atomicMin(T* p, T v) {
    T old = *p;
    *p = v < old ? v : old;
    return old;
}
template <typename T>
inline T atomicExch(T* p, T v) {
    T old = *p;
    *p = v;
    return old;
}
template <typename T>
inline T atomicCAS(T* p, T compare, T v) {
    T old = *p;
    if (old == compare) *p = v;
    return old;
}

// ------------------------------------------------------------------ fibers
namespace emu {

enum State { NEW, RUNNABLE, AT_BARRIER, AT_WARP, DONE };
enum WarpOp { SHFL_IDX, SHFL_XOR, SHFL_DOWN, SHFL_UP, SYNCWARP, BALLOT };

// A thread takes a stack when it starts; when it returns, the next thread, if it has not
// started, runs on the same stack without a switch: a block whose threads never wait runs
// them all as plain calls on one stack.
constexpr size_t STACK = 256 * 1024;   // one guard page below each
constexpr int MAX_THREADS = 1024;

struct Fiber {
    void* sp;              // saved stack pointer (x86-64 switch)
    char* stack;           // lowest usable byte, while the thread runs
    State state;
    uint3 idx;
    unsigned lane, warp;
    // what the fiber waits on at a warp intrinsic, and what it gets back
    int op, arg, width;
    unsigned mask;
    unsigned long long value, result;
#if !defined(EMU_ASM_SWITCH)
    ucontext_t ctx;
#endif
};

Fiber fibers[MAX_THREADS];
char* free_stacks[MAX_THREADS];
int n_free = 0;
Fiber* current = nullptr;
void* sched_sp = nullptr;
#if !defined(EMU_ASM_SWITCH)
ucontext_t sched_ctx;
#endif
void (*invoke)(void (*)(), void**) = nullptr;   // calls the kernel with its arguments
void (*kernel)() = nullptr;
void** kernel_args = nullptr;
int block_threads = 0;   // of the running block
int live = 0;            // its threads that have not returned
char error[512];
bool failed = false;

inline void fail(const char* fmt, unsigned a = 0, unsigned b = 0, unsigned c = 0,
                 unsigned d = 0) {
    if (!failed) std::snprintf(error, sizeof error, fmt, a, b, c, d);
    failed = true;
}

}  // namespace emu

EMU_EXPORT const char* emu_error() { return emu::error; }

#if defined(EMU_ASM_SWITCH)
// emu_switch(save, to): push the callee-saved registers, store the stack pointer in
// *save, load `to` and pop the registers saved there. A new fiber's stack holds zeros
// for them, with r12 = the fiber and r13 = its entry, then emu_start as return address.
extern "C" __attribute__((visibility("hidden"))) void emu_switch(void** save, void* to);
extern "C" __attribute__((visibility("hidden"))) void emu_start();
asm(R"(
    .pushsection .text
    .globl emu_switch
    .hidden emu_switch
    .type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
    .globl emu_start
    .hidden emu_start
    .type emu_start, @function
emu_start:
    movq %r12, %rdi
    andq $-16, %rsp
    callq *%r13
    ud2
    .size emu_start, .-emu_start
    .popsection
)");
#endif

namespace emu {

[[noreturn]] void fiber_main(Fiber* f);

inline void yield_to_scheduler() {
    Fiber* f = current;
#if defined(EMU_ASM_SWITCH)
    emu_switch(&f->sp, sched_sp);
#else
    swapcontext(&f->ctx, &sched_ctx);
#endif
}

inline void resume(Fiber* f) {
    current = f;
    threadIdx = f->idx;
#if defined(EMU_ASM_SWITCH)
    emu_switch(&sched_sp, f->sp);
#else
    swapcontext(&sched_ctx, &f->ctx);
#endif
}

#if !defined(EMU_ASM_SWITCH)
void fiber_entry() { fiber_main(current); }
#endif

// A fiber about to run the kernel from its first line, on stack `stack`.
inline void start(Fiber* f, char* stack) {
    f->stack = stack;
    f->state = RUNNABLE;
#if defined(EMU_ASM_SWITCH)
    void** top = (void**)((uintptr_t)(f->stack + STACK) & ~(uintptr_t)15) - 8;
    top[0] = nullptr;                 // r15
    top[1] = nullptr;                 // r14
    top[2] = (void*)&fiber_main;      // r13
    top[3] = (void*)f;                // r12
    top[4] = nullptr;                 // rbx
    top[5] = nullptr;                 // rbp
    top[6] = (void*)&emu_start;       // return address
    f->sp = top;
#else
    getcontext(&f->ctx);
    f->ctx.uc_stack.ss_sp = f->stack;
    f->ctx.uc_stack.ss_size = STACK;
    f->ctx.uc_link = nullptr;
    makecontext(&f->ctx, fiber_entry, 0);
#endif
}

[[noreturn]] void fiber_main(Fiber*) {
    while (true) {
        invoke(kernel, kernel_args);
        Fiber* done = current;
        done->state = DONE;
        --live;
        Fiber* next = done + 1;
        if (next < fibers + block_threads && next->state == NEW) {   // inherits the stack
            next->stack = done->stack;
            next->state = RUNNABLE;
            current = next;
            threadIdx = next->idx;
            continue;
        }
        yield_to_scheduler();
        std::abort();   // a finished thread is never resumed
    }
}

// A stack for a thread that starts: a free one, else a new mapping (nullptr if none).
inline char* take_stack() {
    if (n_free) return free_stacks[--n_free];
    const long page = sysconf(_SC_PAGESIZE);
    char* m = (char*)mmap(nullptr, STACK + page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    mprotect(m, page, PROT_NONE);   // a stack overflow faults instead of corrupting
    return m + page;
}

// The calling thread waits at a warp intrinsic until every lane of its warp that has not
// returned waits at one; the scheduler then fills in `result`.
template <typename T>
inline T warp_op(int op, unsigned mask, T v, int arg, int width) {
    static_assert(sizeof(T) <= 8, "warp intrinsics exchange values of at most 8 bytes");
    Fiber* f = current;
    f->op = op;
    f->mask = mask;
    f->arg = arg;
    f->width = width;
    f->value = 0;
    std::memcpy(&f->value, &v, sizeof(T));
    f->state = AT_WARP;
    yield_to_scheduler();
    T out;
    std::memcpy(&out, &f->result, sizeof(T));
    return out;
}

// The lane whose value `lane` reads, or -1 for its own value.
inline int source_lane(const Fiber& f) {
    const int lane = f.lane, w = f.width, base = lane - lane % w;
    switch (f.op) {
        case SHFL_IDX: return base + ((f.arg % w) + w) % w;
        case SHFL_XOR: { int s = lane ^ f.arg; return s - s % w == base ? s : -1; }
        case SHFL_DOWN: return lane + f.arg < base + w ? lane + f.arg : -1;
        case SHFL_UP: return lane - f.arg >= base ? lane - f.arg : -1;
        default: return -1;
    }
}

// Opens the lanes of a warp (f[0..n)) that wait at a warp intrinsic once every lane their
// masks name waits at one too: checks the masks, exchanges the values. Returns whether
// it opened; fails (emu::failed) on a mask that names a returned or missing lane.
inline bool release_warp(Fiber* f, int n) {
    unsigned waiting = 0, gone = n < 32 ? ~0u << n : 0u;
    for (int l = 0; l < n; ++l) {
        if (f[l].state == AT_WARP) waiting |= 1u << l;
        if (f[l].state == DONE) gone |= 1u << l;
    }
    if (!waiting) return false;
    for (int l = 0; l < n; ++l) {
        if (!(waiting >> l & 1u)) continue;
        const unsigned mask = f[l].mask;
        if (!(mask >> l & 1u)) {
            fail("warp %u lane %u: a _sync intrinsic whose mask (0x%08x) leaves out its own lane",
                 f[l].warp, l, mask);
            return false;
        }
        if (mask & gone) {
            fail("warp %u lane %u: mask 0x%08x names lanes that have returned or do not exist "
                 "(0x%08x)", f[l].warp, l, mask, mask & gone);
            return false;
        }
        if ((mask & waiting) != mask) return false;   // a named lane is at a barrier: later
        for (int k = 0; k < n; ++k) {
            if ((mask >> k & 1u) && (f[k].op != f[l].op || f[k].mask != mask)) {
                fail("warp %u: lanes %u and %u wait at different warp intrinsics or masks",
                     f[l].warp, l, k);
                return false;
            }
        }
    }
    for (int l = 0; l < n; ++l) {
        if (!(waiting >> l & 1u)) continue;
        if (f[l].op == BALLOT) {
            unsigned ballot = 0;
            for (int k = 0; k < n; ++k)
                if ((f[l].mask >> k & 1u) && f[k].value) ballot |= 1u << k;
            f[l].result = ballot;
            continue;
        }
        const int s = source_lane(f[l]);
        if (s >= n || (s >= 0 && !(f[l].mask >> s & 1u))) {
            fail("warp %u lane %u reads lane %u, which is not in its mask (0x%08x)",
                 f[l].warp, l, s, f[l].mask);
            return false;
        }
        f[l].result = s < 0 ? f[l].value : f[s].value;
    }
    for (int l = 0; l < n; ++l)
        if (waiting >> l & 1u) f[l].state = RUNNABLE;
    return true;
}

// Runs one block to completion; false (with `error`) on a deadlock or a bad intrinsic.
inline bool run_block(int n) {
    for (int t = 0; t < n; ++t) fibers[t].state = NEW;
    block_threads = live = n;
    while (true) {
        for (int t = 0; t < n;) {
            Fiber* f = &fibers[t];
            if (f->state == NEW) {
                char* stack = take_stack();
                if (!stack) {
                    fail("cannot map a thread's stack");
                    return false;
                }
                start(f, stack);
            } else if (f->state != RUNNABLE) {
                ++t;
                continue;
            }
            resume(f);   // runs f, and the unstarted threads after it while they return
            Fiber* last = current;
            if (last->state == DONE) free_stacks[n_free++] = last->stack;
            t = (int)(last - fibers) + 1;
        }
        if (live == 0) return true;
        bool opened = false;
        for (int w = 0; w * 32 < n; ++w) {
            const int lanes = n - w * 32 < 32 ? n - w * 32 : 32;
            opened |= release_warp(&fibers[w * 32], lanes);
            if (failed) return false;
        }
        if (opened) continue;
        int at_barrier = 0, at_warp = 0;
        for (int t = 0; t < n; ++t) {
            at_barrier += fibers[t].state == AT_BARRIER;
            at_warp += fibers[t].state == AT_WARP;
        }
        if (at_warp) {
            fail("deadlock in block (%u, %u, %u): %u threads wait at a warp intrinsic for "
                 "lanes that wait at __syncthreads", blockIdx.x, blockIdx.y, blockIdx.z,
                 (unsigned)at_warp);
            return false;
        }
        for (int t = 0; t < n; ++t)
            if (fibers[t].state == AT_BARRIER) fibers[t].state = RUNNABLE;
    }
}

template <typename... A, std::size_t... I>
void call(void (*k)(A...), void** args, std::index_sequence<I...>) {
    k(*static_cast<std::remove_cv_t<A>*>(args[I])...);
}

template <typename... A>
void invoke_as(void (*k)(), void** args) {
    call(reinterpret_cast<void (*)(A...)>(k), args, std::index_sequence_for<A...>{});
}

// Kernel<<<g, b>>>(args...): args[i] points to the bytes of parameter i, as for
// cuLaunchKernel. Returns 0, or 1 with the reason in emu_error().
template <typename... A>
int launch(void (*k)(A...), dim3 g, dim3 b, void** args) {
    failed = false;
    error[0] = 0;
    const unsigned long long n = (unsigned long long)b.x * b.y * b.z;
    if (n == 0 || n > MAX_THREADS || g.x == 0 || g.y == 0 || g.z == 0) {
        fail("invalid launch configuration: grid (%u, %u, %u), %u threads per block",
             g.x, g.y, g.z, (unsigned)n);
        return 1;
    }
    invoke = &invoke_as<A...>;
    kernel = reinterpret_cast<void (*)()>(k);
    kernel_args = args;
    gridDim = g;
    blockDim = b;
    for (unsigned t = 0; t < n; ++t) {
        fibers[t].idx = uint3{t % b.x, t / b.x % b.y, t / (b.x * b.y)};
        fibers[t].lane = t % 32;
        fibers[t].warp = t / 32;
    }
    for (unsigned z = 0; z < g.z; ++z)
        for (unsigned y = 0; y < g.y; ++y)
            for (unsigned x = 0; x < g.x; ++x) {
                blockIdx = uint3{x, y, z};
                if (!run_block((int)n)) {
                    for (unsigned t = 0; t < n; ++t)   // the stacks of abandoned threads
                        if (fibers[t].state != NEW && fibers[t].state != DONE)
                            free_stacks[n_free++] = fibers[t].stack;
                    return 1;
                }
            }
    return 0;
}

// The parameters of kernel k: per parameter, its size and a kind letter ('p' pointer,
// 'f' floating, 'i' signed integer, 'u' unsigned, 'b' bool, '?' other), and for a
// pointer the size and kind of what it points to (0 and 'v' for void). Returns the count.
template <typename T>
constexpr char kind_of() {
    if constexpr (std::is_same_v<T, bool>) return 'b';
    else if constexpr (std::is_floating_point_v<T>) return 'f';
    else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) return 'i';
    else if constexpr (std::is_integral_v<T>) return 'u';
    else if constexpr (std::is_void_v<T>) return 'v';
    else return '?';
}
template <typename T>
constexpr int size_of() {
    if constexpr (std::is_void_v<T>) return 0;
    else return (int)sizeof(T);
}
template <typename... A>
int params(void (*)(A...), char* kinds, int* sizes, char* pointee_kinds, int* pointee_sizes) {
    int i = 0;
    ((kinds[i] = std::is_pointer_v<A> ? 'p' : kind_of<A>(), sizes[i] = (int)sizeof(A),
      pointee_kinds[i] = kind_of<std::remove_cv_t<std::remove_pointer_t<A>>>(),
      pointee_sizes[i] = size_of<std::remove_cv_t<std::remove_pointer_t<A>>>(), ++i), ...);
    return i;
}

}  // namespace emu

namespace emu {

// A `raw` parameter of an ElementwiseKernel: indexed by the body with a flat C-order index
// (meta: ndim, size, shape..., byte strides...).
template <typename T>
struct CArray {
    char* data;
    int nd;
    long long n;
    const long long* shape;
    const long long* strides;
    CArray(char* d, const long long* meta)
        : data(d), nd((int)meta[0]), n(meta[1]), shape(meta + 2), strides(meta + 2 + meta[0]) {}
    T& operator[](long long i) const {
        long long off = 0;
        for (int d = nd - 1; d >= 0; --d) {
            off += i % shape[d] * strides[d];
            i /= shape[d];
        }
        return *(T*)(data + off);
    }
    long long size() const { return n; }
};

}  // namespace emu

// ------------------------------------------------------------------ barriers and warps
inline void __syncthreads() {
    emu::current->state = emu::AT_BARRIER;
    emu::yield_to_scheduler();
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    emu::warp_op<int>(emu::SYNCWARP, mask, 0, 0, 32);
}
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    return emu::warp_op<T>(emu::SHFL_IDX, mask, v, src, width);
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    return emu::warp_op<T>(emu::SHFL_XOR, mask, v, lane_mask, width);
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return emu::warp_op<T>(emu::SHFL_DOWN, mask, v, (int)delta, width);
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return emu::warp_op<T>(emu::SHFL_UP, mask, v, (int)delta, width);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
    return emu::warp_op<unsigned long long>(emu::BALLOT, mask, predicate != 0, 0, 32);
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) {
    return __ballot_sync(mask, predicate) == mask;
}

/* A CPU fake of libcudnn (cuDNN 9's legacy convolution API), for testing ember's ctypes
 * binding (ember/_backend/cudnn.py) under the fake CuPy, whose device pointers are host
 * pointers. tests/fake_cudnn.py builds it; tests/test_fake_cudnn.py tests it.
 *
 * The prototypes, enum values and struct layouts are cuDNN 9's (cudnn_graph_v9.h,
 * cudnn_ops_v9.h, cudnn_cnn_v9.h). The declarations below are our own minimal copy, so that
 * this file compiles without the real headers; compiled with `-include cudnn.h` they give
 * way to the real ones (the enum lists then become static assertions on the real values),
 * and with -Werror -Wmissing-prototypes any disagreement fails to compile (a local test).
 *
 * Beyond the descriptors and the three convolution directions with their algorithm
 * queries, it has cudnnAddTensor (a bias add), cudnnConvolutionBackwardBias (its
 * gradient) and batch normalization (cudnnDeriveBNTensorDescriptor, training and inference
 * forward, backward), which ember's binding also calls.
 *
 * The arithmetic runs on the host in double, honouring the tensors' strides, groups,
 * padding, stride, dilation, both convolution modes, alpha and beta. Validation follows the
 * real library where it was checked against it (tests/test_fake_cudnn.py): a call with a
 * handle or descriptor that was never created (or was destroyed), a descriptor never set,
 * or dimensions and types that do not fit together returns an error status, never crashes.
 *
 * What the fake makes up: the algorithm lists of the cudnnGet*Algorithm_v7 heuristics.
 * Each lists three algorithms: one NOT_SUPPORTED (a caller must skip it), one that needs a
 * workspace and is non-deterministic, one that needs none and is deterministic. (Real
 * forward algorithms are all deterministic; the fake's forward list has the same shape as
 * the backward ones so that a binding's choice of algorithm is exercised in every
 * direction.) Other algorithms return NOT_SUPPORTED. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ declarations */

/* Enums as lists of (name, value): our declarations, or assertions on the real ones. */
#define STATUS_LIST(X)                                                                      \
    X(CUDNN_STATUS_SUCCESS, 0)                                                              \
    X(CUDNN_STATUS_NOT_INITIALIZED, 1001)                                                   \
    X(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH, 1002)                                       \
    X(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH, 1003)                                    \
    X(CUDNN_STATUS_DEPRECATED, 1004)                                                        \
    X(CUDNN_STATUS_LICENSE_ERROR, 1005)                                                     \
    X(CUDNN_STATUS_RUNTIME_IN_PROGRESS, 1006)                                               \
    X(CUDNN_STATUS_RUNTIME_FP_OVERFLOW, 1007)                                               \
    X(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED, 1008)                                         \
    X(CUDNN_STATUS_BAD_PARAM, 2000)                                                         \
    X(CUDNN_STATUS_INVALID_VALUE, 2001)                                                     \
    X(CUDNN_STATUS_BAD_PARAM_NULL_POINTER, 2002)                                            \
    X(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER, 2003)                                      \
    X(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED, 2004)                                           \
    X(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND, 2005)                                            \
    X(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT, 2006)                                       \
    X(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH, 2007)                                         \
    X(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH, 2008)                                          \
    X(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES, 2009)                                      \
    X(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE, 2010)                                          \
    X(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH, 2011)                                     \
    X(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE, 2012)                                         \
    X(CUDNN_STATUS_NOT_SUPPORTED, 3000)                                                     \
    X(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN, 3001)                                       \
    X(CUDNN_STATUS_NOT_SUPPORTED_SHAPE, 3002)                                               \
    X(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE, 3003)                                           \
    X(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT, 3004)                                              \
    X(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER, 3005)                            \
    X(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART, 3006)                                 \
    X(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH, 3007)                                       \
    X(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING, 3008)                        \
    X(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE, 3009)                              \
    X(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT, 3010)                          \
    X(CUDNN_STATUS_NOT_SUPPORTED_PADDING, 3011)                                             \
    X(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM, 3012)                                    \
    X(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API, 3013)                               \
    X(CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE, 3014)                               \
    X(CUDNN_STATUS_INTERNAL_ERROR, 4000)                                                    \
    X(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED, 4001)                                 \
    X(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE, 4002)                                   \
    X(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, 4003)                             \
    X(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED, 4004)                           \
    X(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM, 4005)                                   \
    X(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED, 4006)                            \
    X(CUDNN_STATUS_EXECUTION_FAILED, 5000)                                                  \
    X(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER, 5001)                                      \
    X(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS, 5002)                                           \
    X(CUDNN_STATUS_EXECUTION_FAILED_CUDART, 5003)                                           \
    X(CUDNN_STATUS_EXECUTION_FAILED_CURAND, 5004)

#define DATA_TYPE_LIST(X)                                                                   \
    X(CUDNN_DATA_FLOAT, 0) X(CUDNN_DATA_DOUBLE, 1) X(CUDNN_DATA_HALF, 2)                    \
    X(CUDNN_DATA_INT8, 3) X(CUDNN_DATA_INT32, 4) X(CUDNN_DATA_UINT8, 6)                     \
    X(CUDNN_DATA_BFLOAT16, 9) X(CUDNN_DATA_INT64, 10) X(CUDNN_DATA_BOOLEAN, 11)             \
    X(CUDNN_DATA_FP8_E4M3, 12) X(CUDNN_DATA_FP8_E5M2, 13) X(CUDNN_DATA_FP8_E5M3, 23)

#define MATH_TYPE_LIST(X)                                                                   \
    X(CUDNN_DEFAULT_MATH, 0) X(CUDNN_TENSOR_OP_MATH, 1)                                     \
    X(CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, 2) X(CUDNN_FMA_MATH, 3)

#define TENSOR_FORMAT_LIST(X)                                                               \
    X(CUDNN_TENSOR_NCHW, 0) X(CUDNN_TENSOR_NHWC, 1) X(CUDNN_TENSOR_NCHW_VECT_C, 2)

#define CONV_MODE_LIST(X) X(CUDNN_CONVOLUTION, 0) X(CUDNN_CROSS_CORRELATION, 1)

#define DETERMINISM_LIST(X) X(CUDNN_NON_DETERMINISTIC, 0) X(CUDNN_DETERMINISTIC, 1)

#define FWD_ALGO_LIST(X)                                                                    \
    X(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, 0)                                          \
    X(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, 1)                                  \
    X(CUDNN_CONVOLUTION_FWD_ALGO_GEMM, 2) X(CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, 3)           \
    X(CUDNN_CONVOLUTION_FWD_ALGO_FFT, 4) X(CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING, 5)        \
    X(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, 6)                                               \
    X(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, 7) X(CUDNN_CONVOLUTION_FWD_ALGO_COUNT, 8)

#define BWD_DATA_ALGO_LIST(X)                                                               \
    X(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, 0) X(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, 1)         \
    X(CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, 2) X(CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, 3) \
    X(CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, 4)                                          \
    X(CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED, 5)                                 \
    X(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, 6)

#define BWD_FILTER_ALGO_LIST(X)                                                             \
    X(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, 0) X(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, 1)     \
    X(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, 2) X(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, 3)   \
    X(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD, 4)                                        \
    X(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED, 5)                               \
    X(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING, 6)                                      \
    X(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, 7)

#define BN_MODE_LIST(X)                                                                     \
    X(CUDNN_BATCHNORM_PER_ACTIVATION, 0) X(CUDNN_BATCHNORM_SPATIAL, 1)                      \
    X(CUDNN_BATCHNORM_SPATIAL_PERSISTENT, 2)

#define CUDNN_FAKE_VERSION 92801   /* cuDNN 9.28.1, the headers copied */

#ifndef CUDNN_H_   /* our own declarations; the real cudnn.h supplies them otherwise */
#define ENUMERATOR(name, value) name = value,
typedef struct CUstream_st *cudaStream_t;
typedef enum { STATUS_LIST(ENUMERATOR) } cudnnStatus_t;
typedef enum { DATA_TYPE_LIST(ENUMERATOR) } cudnnDataType_t;
typedef enum { MATH_TYPE_LIST(ENUMERATOR) } cudnnMathType_t;
typedef enum { TENSOR_FORMAT_LIST(ENUMERATOR) } cudnnTensorFormat_t;
typedef enum { CONV_MODE_LIST(ENUMERATOR) } cudnnConvolutionMode_t;
typedef enum { DETERMINISM_LIST(ENUMERATOR) } cudnnDeterminism_t;
typedef enum { FWD_ALGO_LIST(ENUMERATOR) } cudnnConvolutionFwdAlgo_t;
typedef enum { BWD_DATA_ALGO_LIST(ENUMERATOR) } cudnnConvolutionBwdDataAlgo_t;
typedef enum { BWD_FILTER_ALGO_LIST(ENUMERATOR) } cudnnConvolutionBwdFilterAlgo_t;
typedef enum { BN_MODE_LIST(ENUMERATOR) } cudnnBatchNormMode_t;

#define CUDNN_BN_MIN_EPSILON 0.0   /* cuDNN 9's (cuDNN 7's was 1e-5) */

typedef struct cudnnContext *cudnnHandle_t;
typedef struct cudnnTensorStruct *cudnnTensorDescriptor_t;
typedef struct cudnnFilterStruct *cudnnFilterDescriptor_t;
typedef struct cudnnConvolutionStruct *cudnnConvolutionDescriptor_t;

#define PERF_STRUCT(name, algo_type)                                                        \
    typedef struct {                                                                        \
        algo_type algo;                                                                     \
        cudnnStatus_t status;                                                               \
        float time;                                                                         \
        size_t memory;                                                                      \
        cudnnDeterminism_t determinism;                                                     \
        cudnnMathType_t mathType;                                                           \
        int reserved[3];                                                                    \
    } name;
PERF_STRUCT(cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t)
PERF_STRUCT(cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t)
PERF_STRUCT(cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t)
#else   /* checking against the real headers: the same values, or no compilation */
#define ASSERT_VALUE(name, value) _Static_assert(name == value, #name " != " #value);
STATUS_LIST(ASSERT_VALUE)
DATA_TYPE_LIST(ASSERT_VALUE)
MATH_TYPE_LIST(ASSERT_VALUE)
TENSOR_FORMAT_LIST(ASSERT_VALUE)
CONV_MODE_LIST(ASSERT_VALUE)
DETERMINISM_LIST(ASSERT_VALUE)
FWD_ALGO_LIST(ASSERT_VALUE)
BWD_DATA_ALGO_LIST(ASSERT_VALUE)
BWD_FILTER_ALGO_LIST(ASSERT_VALUE)
BN_MODE_LIST(ASSERT_VALUE)
_Static_assert(CUDNN_DIM_MAX == 8, "CUDNN_DIM_MAX");
_Static_assert(CUDNN_BN_MIN_EPSILON == 0.0, "CUDNN_BN_MIN_EPSILON");
#endif

/* the perf structs' layout, which a ctypes binding copies (both ways of compiling) */
#define ASSERT_PERF_LAYOUT(T)                                                               \
    _Static_assert(sizeof(T) == 48 && offsetof(T, status) == 4 && offsetof(T, time) == 8 && \
                   offsetof(T, memory) == 16 && offsetof(T, determinism) == 24 &&          \
                   offsetof(T, mathType) == 28 && offsetof(T, reserved) == 32, #T);
ASSERT_PERF_LAYOUT(cudnnConvolutionFwdAlgoPerf_t)
ASSERT_PERF_LAYOUT(cudnnConvolutionBwdDataAlgoPerf_t)
ASSERT_PERF_LAYOUT(cudnnConvolutionBwdFilterAlgoPerf_t)

/* the helpers for tests (not cuDNN's) */
void *fake_cudnn_stream(cudnnHandle_t handle);
int fake_cudnn_calls(const char *name);
int fake_cudnn_last_algo(const char *name);
int fake_cudnn_live_objects(void);
void fake_cudnn_reset(void);

/* ------------------------------------------------------------------ bookkeeping */

#define MAX_DIMS 8                 /* CUDNN_DIM_MAX */
#define MAX_SPATIAL (MAX_DIMS - 2)
#define MAX_OBJECTS 4096
#define MAX_ENTRY_POINTS 64

enum kind { HANDLE = 1, TENSOR, FILTER, CONVOLUTION };

struct cudnnContext {
    cudaStream_t stream;
};

struct cudnnTensorStruct {
    int is_set;
    cudnnDataType_t type;
    int nb;
    int dims[MAX_DIMS];
    long long strides[MAX_DIMS];   /* in elements, any sign */
};

struct cudnnFilterStruct {   /* contiguous, NCHW: the strides of a C-order array */
    int is_set;
    cudnnDataType_t type;
    int nb;
    int dims[MAX_DIMS];
};

struct cudnnConvolutionStruct {
    int is_set;
    int nb;   /* spatial dimensions */
    int pad[MAX_SPATIAL], stride[MAX_SPATIAL], dilation[MAX_SPATIAL];
    cudnnConvolutionMode_t mode;
    cudnnDataType_t compute_type;
    int groups;
    cudnnMathType_t math;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Objects created and not destroyed: a pointer is checked against this list before it is
 * read, so a destroyed or made-up handle or descriptor gives BAD_PARAM, not a crash. */
static struct {
    const void *p;
    enum kind kind;
} objects[MAX_OBJECTS];
static int n_objects;

static struct {
    const char *name;
    int calls;
    int last_algo;
} entry_points[MAX_ENTRY_POINTS];
static int n_entry_points;

static int entry_index(const char *name) {   /* under the lock; -1: table full */
    for (int i = 0; i < n_entry_points; i++)
        if (strcmp(entry_points[i].name, name) == 0)
            return i;
    if (n_entry_points == MAX_ENTRY_POINTS)
        return -1;
    entry_points[n_entry_points].name = name;
    entry_points[n_entry_points].calls = 0;
    entry_points[n_entry_points].last_algo = -1;
    return n_entry_points++;
}

static void count_call(const char *name) {
    pthread_mutex_lock(&lock);
    int i = entry_index(name);
    if (i >= 0)
        entry_points[i].calls++;
    pthread_mutex_unlock(&lock);
}

#define COUNT_CALL() count_call(__func__)

static void record_algo(const char *name, int algo) {
    pthread_mutex_lock(&lock);
    int i = entry_index(name);
    if (i >= 0)
        entry_points[i].last_algo = algo;
    pthread_mutex_unlock(&lock);
}

static int is_live(const void *p, enum kind kind) {
    int found = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_objects && !found; i++)
        found = objects[i].p == p && objects[i].kind == kind;
    pthread_mutex_unlock(&lock);
    return p != NULL && found;
}

static cudnnStatus_t create(void **out, size_t size, enum kind kind) {
    if (out == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    void *p = calloc(1, size);
    if (p == NULL)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    pthread_mutex_lock(&lock);
    int full = n_objects == MAX_OBJECTS;
    if (!full) {
        objects[n_objects].p = p;
        objects[n_objects].kind = kind;
        n_objects++;
    }
    pthread_mutex_unlock(&lock);
    if (full) {
        free(p);
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    }
    *out = p;
    return CUDNN_STATUS_SUCCESS;
}

static cudnnStatus_t destroy(void *p, enum kind kind) {
    int found = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_objects && !found; i++) {
        if (objects[i].p == p && objects[i].kind == kind) {
            objects[i] = objects[--n_objects];
            found = 1;
        }
    }
    pthread_mutex_unlock(&lock);
    if (!found)
        return CUDNN_STATUS_BAD_PARAM;
    free(p);
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ numbers */

/* IEEE binary formats of `exp_bits` exponent and `man_bits` mantissa bits (binary16: 5, 10;
 * bfloat16: 8, 7), converted by bit manipulation, rounding to nearest even on the way in. */
static double small_float_to_double(unsigned bits, int exp_bits, int man_bits) {
    int bias = (1 << (exp_bits - 1)) - 1;
    unsigned max_exp = (1u << exp_bits) - 1;
    unsigned exponent = (bits >> man_bits) & max_exp;
    unsigned mantissa = bits & ((1u << man_bits) - 1);
    double sign = (bits >> (exp_bits + man_bits)) & 1 ? -1.0 : 1.0;
    if (exponent == max_exp)
        return mantissa ? NAN : sign * INFINITY;
    if (exponent == 0)   /* zero or subnormal */
        return sign * ldexp((double)mantissa, 1 - bias - man_bits);
    return sign * ldexp((double)(mantissa | (1u << man_bits)), (int)exponent - bias - man_bits);
}

static unsigned double_to_small_float(double v, int exp_bits, int man_bits) {
    uint64_t d;
    memcpy(&d, &v, sizeof d);
    unsigned sign = (unsigned)(d >> 63) << (exp_bits + man_bits);
    unsigned max_exp = (1u << exp_bits) - 1;
    unsigned inf = max_exp << man_bits;
    int d_exp = (int)((d >> 52) & 0x7ff);
    uint64_t d_man = d & ((1ull << 52) - 1);
    if (d_exp == 0x7ff)   /* inf, or NaN (made quiet) */
        return sign | inf | (d_man ? 1u << (man_bits - 1) : 0);
    if (d_exp == 0)   /* double subnormals are far below the formats' smallest subnormal */
        return sign;
    int bias = (1 << (exp_bits - 1)) - 1;
    int e = d_exp - 1023;                    /* v = 1.m * 2^e */
    uint64_t significand = d_man | (1ull << 52);
    int shift = 52 - man_bits;               /* to the target's mantissa */
    int min_e = 1 - bias;                    /* the smallest normal exponent */
    if (e < min_e)
        shift += min_e - e;                  /* a subnormal: fewer bits survive */
    if (shift > 54)                          /* below half the smallest subnormal */
        return sign;
    uint64_t kept = significand >> shift;
    uint64_t rest = significand & ((1ull << shift) - 1);
    uint64_t half = 1ull << (shift - 1);
    if (rest > half || (rest == half && (kept & 1)))
        kept++;                              /* a carry moves into the exponent: still right */
    uint64_t biased = e < min_e ? 0 : (uint64_t)(e + bias - 1);
    uint64_t bits = (biased << man_bits) + kept;   /* kept holds the implicit bit */
    return sign | (bits >= inf ? inf : (unsigned)bits);
}

static double load(const void *base, long long offset, cudnnDataType_t type) {
    switch (type) {
    case CUDNN_DATA_FLOAT:
        return ((const float *)base)[offset];
    case CUDNN_DATA_DOUBLE:
        return ((const double *)base)[offset];
    case CUDNN_DATA_HALF:
        return small_float_to_double(((const uint16_t *)base)[offset], 5, 10);
    default:   /* CUDNN_DATA_BFLOAT16 */
        return small_float_to_double(((const uint16_t *)base)[offset], 8, 7);
    }
}

static void store(void *base, long long offset, cudnnDataType_t type, double v) {
    switch (type) {
    case CUDNN_DATA_FLOAT:
        ((float *)base)[offset] = (float)v;
        break;
    case CUDNN_DATA_DOUBLE:
        ((double *)base)[offset] = v;
        break;
    /* half and bfloat16 results are rounded to float first, as a GPU rounds its float
     * accumulators (and as ml_dtypes casts float64 to bfloat16) */
    case CUDNN_DATA_HALF:
        ((uint16_t *)base)[offset] = (uint16_t)double_to_small_float((float)v, 5, 10);
        break;
    default:   /* CUDNN_DATA_BFLOAT16 */
        ((uint16_t *)base)[offset] = (uint16_t)double_to_small_float((float)v, 8, 7);
        break;
    }
}

static int supported_type(cudnnDataType_t t) {
    return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_DOUBLE || t == CUDNN_DATA_HALF ||
           t == CUDNN_DATA_BFLOAT16;
}

/* The data types the real library accepts in each kind of descriptor (compared with it):
 * a tensor's, FLOAT to BFLOAT16 (the deprecated vectorized int8 types between them too); a
 * filter's, those but INT32; a convolution's compute type, float, double, half or int32
 * (not bfloat16: bfloat16 convolutions compute in float). */
static int tensor_type_known(int t) {
    return t >= CUDNN_DATA_FLOAT && t <= CUDNN_DATA_BFLOAT16;
}

static int filter_type_known(int t) {
    return tensor_type_known(t) && t != CUDNN_DATA_INT32;
}

static int compute_type_known(int t) {
    return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_DOUBLE || t == CUDNN_DATA_HALF ||
           t == CUDNN_DATA_INT32;
}

static size_t element_size(cudnnDataType_t t) {
    return t == CUDNN_DATA_DOUBLE ? 8 : t == CUDNN_DATA_FLOAT ? 4 : 2;
}

/* alpha and beta: double for double data, float otherwise (cuDNN's rule) */
static double scaling(const void *p, cudnnDataType_t data_type) {
    return data_type == CUDNN_DATA_DOUBLE ? *(const double *)p : *(const float *)p;
}

/* ------------------------------------------------------------------ tensors */

static long long count(int nb, const int *dims) {
    long long n = 1;
    for (int i = 0; i < nb; i++)
        n *= dims[i];
    return n;
}

/* The memory offset (in elements) of the element whose C-order index in a `dims` array
 * is `flat`. */
static long long offset_of(long long flat, int nb, const int *dims, const long long *strides) {
    long long offset = 0;
    for (int i = nb - 1; i >= 0; i--) {
        offset += (flat % dims[i]) * strides[i];
        flat /= dims[i];
    }
    return offset;
}

static void contiguous_strides(int nb, const int *dims, long long *strides) {
    long long s = 1;
    for (int i = nb - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* The elements of strided data, in C order, as doubles (malloc'ed). */
static double *gather(const void *data, cudnnDataType_t type, int nb, const int *dims,
                      const long long *strides) {
    long long n = count(nb, dims);
    double *out = malloc((size_t)n * sizeof *out);
    if (out != NULL)
        for (long long i = 0; i < n; i++)
            out[i] = load(data, offset_of(i, nb, dims, strides), type);
    return out;
}

/* data = alpha * values + beta * data, element by element; with beta == 0 the old data is
 * not read (cuDNN overwrites: NaN garbage there must not leak into the result). */
static void blend(void *data, cudnnDataType_t type, int nb, const int *dims,
                  const long long *strides, const double *values, double alpha, double beta) {
    long long n = count(nb, dims);
    for (long long i = 0; i < n; i++) {
        long long at = offset_of(i, nb, dims, strides);
        double v = alpha * values[i];
        if (beta != 0)
            v += beta * load(data, at, type);
        store(data, at, type, v);
    }
}

/* ------------------------------------------------------------------ convolution */

/* A convolution's sizes, checked: x is (N, C, in...), w (K, C/groups, filter...),
 * y (N, K, out...). */
struct problem {
    int spatial;
    long long n, c, k, groups;
    int in[MAX_SPATIAL], filter[MAX_SPATIAL], out[MAX_SPATIAL];
    const struct cudnnTensorStruct *x, *y;
    const struct cudnnFilterStruct *w;
    const struct cudnnConvolutionStruct *conv;
    cudnnDataType_t type;
};

static int tensor_ready(cudnnTensorDescriptor_t t) {
    return is_live(t, TENSOR) && t->is_set;
}

static int filter_ready(cudnnFilterDescriptor_t f) {
    return is_live(f, FILTER) && f->is_set;
}

static int conv_ready(cudnnConvolutionDescriptor_t c) {
    return is_live(c, CONVOLUTION) && c->is_set;
}

static int output_size(int in, int filter, int pad, int stride, int dilation) {
    int span = (filter - 1) * dilation + 1;
    int room = in + 2 * pad - span;
    return room < 0 ? 0 : room / stride + 1;
}

/* cudnnGetConvolutionNdForwardOutputDim's rule; 0 where the input is too small */
static cudnnStatus_t output_dims(cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t x,
                                 cudnnFilterDescriptor_t w, int *dims) {
    if (!conv_ready(conv) || !tensor_ready(x) || !filter_ready(w))
        return CUDNN_STATUS_BAD_PARAM;
    if (x->nb != conv->nb + 2 || w->nb != x->nb || x->dims[1] != w->dims[1] * conv->groups)
        return CUDNN_STATUS_BAD_PARAM;
    dims[0] = x->dims[0];
    dims[1] = w->dims[0];
    for (int i = 0; i < conv->nb; i++) {
        dims[i + 2] = output_size(x->dims[i + 2], w->dims[i + 2], conv->pad[i],
                                  conv->stride[i], conv->dilation[i]);
        if (dims[i + 2] <= 0)
            return CUDNN_STATUS_BAD_PARAM;
    }
    return CUDNN_STATUS_SUCCESS;
}

static int compute_type_fits(cudnnDataType_t data, cudnnDataType_t compute) {
    switch (data) {
    case CUDNN_DATA_DOUBLE:
        return compute == CUDNN_DATA_DOUBLE;
    case CUDNN_DATA_FLOAT:
        return compute == CUDNN_DATA_FLOAT;
    case CUDNN_DATA_HALF:   /* true half, or "pseudo half" accumulating in float */
        return compute == CUDNN_DATA_HALF || compute == CUDNN_DATA_FLOAT;
    default:   /* bfloat16: float (the real library takes no bfloat16 compute type) */
        return compute == CUDNN_DATA_FLOAT;
    }
}

static cudnnStatus_t check_problem(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                   cudnnFilterDescriptor_t w,
                                   cudnnConvolutionDescriptor_t conv,
                                   cudnnTensorDescriptor_t y, struct problem *p) {
    int dims[MAX_DIMS];
    if (!is_live(handle, HANDLE) || !tensor_ready(y))
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t status = output_dims(conv, x, w, dims);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    if (y->nb != x->nb || memcmp(dims, y->dims, (size_t)x->nb * sizeof(int)) != 0)
        return CUDNN_STATUS_BAD_PARAM;
    if (w->dims[0] % conv->groups != 0)
        return CUDNN_STATUS_BAD_PARAM;
    if (x->type != w->type || y->type != x->type)
        return CUDNN_STATUS_BAD_PARAM;
    if (!supported_type(x->type) || !compute_type_fits(x->type, conv->compute_type))
        return CUDNN_STATUS_NOT_SUPPORTED;
    p->spatial = conv->nb;
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->k = w->dims[0];
    p->groups = conv->groups;
    for (int i = 0; i < conv->nb; i++) {
        p->in[i] = x->dims[i + 2];
        p->filter[i] = w->dims[i + 2];
        p->out[i] = y->dims[i + 2];
    }
    p->x = x;
    p->y = y;
    p->w = w;
    p->conv = conv;
    p->type = x->type;
    return CUDNN_STATUS_SUCCESS;
}

/* For each output position o and filter position f (C-order over the spatial dims): the
 * input position they meet at, or -1 where that falls in the padding. CUDNN_CONVOLUTION
 * flips the filter; CUDNN_CROSS_CORRELATION (PyTorch's convolution) does not. */
static long long *taps(const struct problem *p, long long n_out, long long n_filter) {
    long long *tap = malloc((size_t)(n_out * n_filter) * sizeof *tap);
    if (tap == NULL)
        return NULL;
    const struct cudnnConvolutionStruct *conv = p->conv;
    for (long long o = 0; o < n_out; o++) {
        for (long long f = 0; f < n_filter; f++) {
            long long in = 0, o_rest = o, f_rest = f, place = 1;
            for (int d = p->spatial - 1; d >= 0 && in >= 0; d--) {
                int od = (int)(o_rest % p->out[d]), fd = (int)(f_rest % p->filter[d]);
                o_rest /= p->out[d];
                f_rest /= p->filter[d];
                if (conv->mode == CUDNN_CONVOLUTION)
                    fd = p->filter[d] - 1 - fd;
                long long i = (long long)od * conv->stride[d] - conv->pad[d] +
                              (long long)fd * conv->dilation[d];
                if (i < 0 || i >= p->in[d])
                    in = -1;
                else
                    in += i * place;
                place *= p->in[d];
            }
            tap[o * n_filter + f] = in;
        }
    }
    return tap;
}

enum direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER };

/* The one convolution loop. The three directions multiply the same pairs of elements and
 * sum them into different places: y += x * w (forward), dx += dy * w (backward data),
 * dw += x * dy (backward filter). x, w, y are dense C-order doubles; `acc` (zeroed) has
 * the shape of the direction's output. */
static inline void convolve(const struct problem *p, const long long *tap, enum direction dir,
                     const double *x, const double *w, const double *y, double *acc) {
    long long n_in = count(p->spatial, p->in), n_out = count(p->spatial, p->out);
    long long n_filter = count(p->spatial, p->filter);
    long long c_group = p->c / p->groups, k_group = p->k / p->groups;
    for (long long n = 0; n < p->n; n++)
        for (long long g = 0; g < p->groups; g++)
            for (long long ko = 0; ko < k_group; ko++)
                for (long long ci = 0; ci < c_group; ci++) {
                    long long kk = g * k_group + ko, cc = g * c_group + ci;
                    long long x0 = (n * p->c + cc) * n_in, y0 = (n * p->k + kk) * n_out;
                    long long w0 = (kk * c_group + ci) * n_filter;
                    for (long long o = 0; o < n_out; o++)
                        for (long long f = 0; f < n_filter; f++) {
                            long long i = tap[o * n_filter + f];
                            if (i < 0)
                                continue;
                            if (dir == FORWARD)
                                acc[y0 + o] += x[x0 + i] * w[w0 + f];
                            else if (dir == BACKWARD_DATA)
                                acc[x0 + i] += y[y0 + o] * w[w0 + f];
                            else
                                acc[w0 + f] += x[x0 + i] * y[y0 + o];
                        }
                }
}

/* ------------------------------------------------------------------ algorithms */

struct algo {
    int algo;
    cudnnStatus_t status;
    cudnnDeterminism_t determinism;
    int needs_workspace;
};

#define N_ALGOS 3
static const struct algo algos[3][N_ALGOS] = {
    [FORWARD] = {
        {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, CUDNN_STATUS_NOT_SUPPORTED, CUDNN_DETERMINISTIC, 0},
        {CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_STATUS_SUCCESS, CUDNN_NON_DETERMINISTIC, 1},
        {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_STATUS_SUCCESS, CUDNN_DETERMINISTIC, 0},
    },
    [BACKWARD_DATA] = {
        {CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, CUDNN_STATUS_NOT_SUPPORTED,
         CUDNN_DETERMINISTIC, 0},
        {CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_STATUS_SUCCESS, CUDNN_NON_DETERMINISTIC, 1},
        {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_STATUS_SUCCESS, CUDNN_DETERMINISTIC, 0},
    },
    [BACKWARD_FILTER] = {
        {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD, CUDNN_STATUS_NOT_SUPPORTED,
         CUDNN_DETERMINISTIC, 0},
        {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_STATUS_SUCCESS, CUDNN_NON_DETERMINISTIC, 1},
        {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_STATUS_SUCCESS, CUDNN_DETERMINISTIC, 0},
    },
};
static const int algo_counts[3] = {CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                   CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                   CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT};

/* the workspace of the algorithms that need one: one group's im2col matrix of one image,
 * rounded up to 256 bytes */
static size_t workspace_bytes(const struct problem *p) {
    long long bytes = p->c / p->groups * count(p->spatial, p->filter) *
                      count(p->spatial, p->out) * (long long)element_size(p->type);
    return (size_t)((bytes + 255) / 256 * 256);
}

static cudnnMathType_t algo_math(const struct problem *p) {
    int tensor_ops = p->type != CUDNN_DATA_DOUBLE && p->conv->math != CUDNN_FMA_MATH;
    return tensor_ops ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
}

/* One perf entry as the _v7 heuristics give it; the three structs share this layout. */
struct perf {
    int algo;
    cudnnStatus_t status;
    float time;
    size_t memory;
    cudnnDeterminism_t determinism;
    cudnnMathType_t mathType;
    int reserved[3];
};
_Static_assert(sizeof(struct perf) == sizeof(cudnnConvolutionFwdAlgoPerf_t), "perf");

static cudnnStatus_t heuristics(enum direction dir, cudnnHandle_t handle,
                                cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
                                cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y,
                                int requested, int *returned, void *results) {
    struct problem p;
    cudnnStatus_t status = check_problem(handle, x, w, conv, y, &p);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    if (requested <= 0 || returned == NULL || results == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    int n = requested < N_ALGOS ? requested : N_ALGOS;
    for (int i = 0; i < n; i++) {
        const struct algo *a = &algos[dir][i];
        struct perf entry = {a->algo, a->status, -1.0f, 0, a->determinism, algo_math(&p),
                             {0, 0, 0}};
        if (a->status == CUDNN_STATUS_SUCCESS && a->needs_workspace)
            entry.memory = workspace_bytes(&p);
        memcpy((struct perf *)results + i, &entry, sizeof entry);
    }
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

/* The entry of `algo`, or an error: BAD_PARAM for no algorithm at all, NOT_SUPPORTED for
 * one the fake does not run. */
static cudnnStatus_t find_algo(enum direction dir, int algo, const struct algo **out) {
    if (algo < 0 || algo >= algo_counts[dir])
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < N_ALGOS; i++) {
        if (algos[dir][i].algo == algo) {
            *out = &algos[dir][i];
            return algos[dir][i].status;
        }
    }
    return CUDNN_STATUS_NOT_SUPPORTED;
}

static cudnnStatus_t workspace_size(enum direction dir, cudnnHandle_t handle,
                                    cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
                                    cudnnConvolutionDescriptor_t conv,
                                    cudnnTensorDescriptor_t y, int algo, size_t *size) {
    struct problem p;
    const struct algo *a = NULL;
    cudnnStatus_t status = check_problem(handle, x, w, conv, y, &p);
    if (status == CUDNN_STATUS_SUCCESS && size == NULL)
        status = CUDNN_STATUS_BAD_PARAM;
    if (status == CUDNN_STATUS_SUCCESS)
        status = find_algo(dir, algo, &a);
    if (status == CUDNN_STATUS_SUCCESS)
        *size = a->needs_workspace ? workspace_bytes(&p) : 0;
    return status;
}

/* out = alpha * op(inputs) + beta * out, where out is y, x or w as `dir` says. */
static cudnnStatus_t run(enum direction dir, const char *name, cudnnHandle_t handle,
                         const void *alpha, const void *beta, cudnnTensorDescriptor_t x_desc,
                         const void *x, cudnnFilterDescriptor_t w_desc, const void *w,
                         cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y_desc,
                         const void *y, void *out, int algo, void *workspace,
                         size_t workspace_size_in_bytes) {
    struct problem p;
    const struct algo *a = NULL;
    cudnnStatus_t status = check_problem(handle, x_desc, w_desc, conv, y_desc, &p);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    status = find_algo(dir, algo, &a);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    if (alpha == NULL || beta == NULL || out == NULL || (dir != FORWARD && y == NULL) ||
        (dir != BACKWARD_DATA && x == NULL) || (dir != BACKWARD_FILTER && w == NULL))
        return CUDNN_STATUS_BAD_PARAM;
    if (a->needs_workspace) {
        size_t needed = workspace_bytes(&p);
        if (workspace == NULL || workspace_size_in_bytes < needed)
            return CUDNN_STATUS_BAD_PARAM;
        memset(workspace, 0xA5, needed);   /* scratch: what was there is gone */
    }

    long long w_strides[MAX_DIMS];
    contiguous_strides(p.w->nb, p.w->dims, w_strides);
    int nb = p.x->nb;
    double *xs = dir == BACKWARD_DATA ? NULL
                                      : gather(x, p.type, nb, p.x->dims, p.x->strides);
    double *ws = dir == BACKWARD_FILTER ? NULL : gather(w, p.type, nb, p.w->dims, w_strides);
    double *ys = dir == FORWARD ? NULL : gather(y, p.type, nb, p.y->dims, p.y->strides);
    const int *out_dims = dir == FORWARD ? p.y->dims : dir == BACKWARD_DATA ? p.x->dims
                                                                            : p.w->dims;
    const long long *out_strides = dir == FORWARD ? p.y->strides
                                   : dir == BACKWARD_DATA ? p.x->strides : w_strides;
    long long n_out = count(p.spatial, p.out), n_filter = count(p.spatial, p.filter);
    double *acc = calloc((size_t)count(nb, out_dims), sizeof *acc);
    long long *tap = taps(&p, n_out, n_filter);
    int ok = acc != NULL && tap != NULL && (dir == BACKWARD_DATA || xs != NULL) &&
             (dir == BACKWARD_FILTER || ws != NULL) && (dir == FORWARD || ys != NULL);
    if (ok) {
        /* (a constant direction per call: the compiler makes one loop of each) */
        if (dir == FORWARD)
            convolve(&p, tap, FORWARD, xs, ws, ys, acc);
        else if (dir == BACKWARD_DATA)
            convolve(&p, tap, BACKWARD_DATA, xs, ws, ys, acc);
        else
            convolve(&p, tap, BACKWARD_FILTER, xs, ws, ys, acc);
        blend(out, p.type, nb, out_dims, out_strides, acc, scaling(alpha, p.type),
              scaling(beta, p.type));
        record_algo(name, algo);
    }
    free(xs);
    free(ws);
    free(ys);
    free(acc);
    free(tap);
    return ok ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
}

/* ------------------------------------------------------------------ the API: library */

size_t cudnnGetVersion(void) {
    COUNT_CALL();
    return CUDNN_FAKE_VERSION;
}

const char *cudnnGetErrorString(cudnnStatus_t status) {
    COUNT_CALL();
    switch ((int)status) {
#define STATUS_NAME(name, value) case value: return #name;
        STATUS_LIST(STATUS_NAME)
#undef STATUS_NAME
    default:
        return "CUDNN_UNKNOWN_STATUS";
    }
}

cudnnStatus_t cudnnCreate(cudnnHandle_t *handle) {
    COUNT_CALL();
    return create((void **)handle, sizeof(struct cudnnContext), HANDLE);
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
    COUNT_CALL();
    return destroy(handle, HANDLE);
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) {
    COUNT_CALL();
    if (!is_live(handle, HANDLE))
        return CUDNN_STATUS_BAD_PARAM;
    handle->stream = streamId;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t *streamId) {
    COUNT_CALL();
    if (!is_live(handle, HANDLE) || streamId == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    *streamId = handle->stream;
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ the API: descriptors */

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *tensorDesc) {
    COUNT_CALL();
    return create((void **)tensorDesc, sizeof(struct cudnnTensorStruct), TENSOR);
}

cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc) {
    COUNT_CALL();
    return destroy(tensorDesc, TENSOR);
}

/* As the real library: 2 to 8 dimensions (more: NOT_SUPPORTED), each >= 1, strides (in
 * elements) nonzero, of any sign and overlap; the data types it takes (the fake computes
 * with float, double, half and bfloat16 only: NOT_SUPPORTED at the computing call). */
cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t tensorDesc,
                                         cudnnDataType_t dataType, int nbDims,
                                         const int dimA[], const int strideA[]) {
    COUNT_CALL();
    if (!is_live(tensorDesc, TENSOR) || dimA == NULL || strideA == NULL || nbDims < 2 ||
        !tensor_type_known(dataType))
        return CUDNN_STATUS_BAD_PARAM;
    if (nbDims > MAX_DIMS)
        return CUDNN_STATUS_NOT_SUPPORTED;
    for (int i = 0; i < nbDims; i++)
        if (dimA[i] <= 0 || strideA[i] == 0)
            return CUDNN_STATUS_BAD_PARAM;
    tensorDesc->type = dataType;
    tensorDesc->nb = nbDims;
    for (int i = 0; i < nbDims; i++) {
        tensorDesc->dims[i] = dimA[i];
        tensorDesc->strides[i] = strideA[i];
    }
    tensorDesc->is_set = 1;
    return CUDNN_STATUS_SUCCESS;
}

/* As the real library: the first min(nbDimsRequested, nbDims) dims and strides; a
 * descriptor never set reads as 0 dimensions of CUDNN_DATA_FLOAT. (The real one crashes on
 * a NULL dataType or dimA; the fake returns BAD_PARAM.) */
cudnnStatus_t cudnnGetTensorNdDescriptor(const cudnnTensorDescriptor_t tensorDesc,
                                         int nbDimsRequested, cudnnDataType_t *dataType,
                                         int *nbDims, int dimA[], int strideA[]) {
    COUNT_CALL();
    int n = nbDimsRequested < 0 ? 0 : nbDimsRequested;
    if (!is_live(tensorDesc, TENSOR) || dataType == NULL || nbDims == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    if (n > tensorDesc->nb)
        n = tensorDesc->nb;
    if (n > 0 && (dimA == NULL || strideA == NULL))
        return CUDNN_STATUS_BAD_PARAM;
    *dataType = tensorDesc->is_set ? tensorDesc->type : CUDNN_DATA_FLOAT;
    *nbDims = tensorDesc->nb;
    for (int i = 0; i < n; i++) {
        dimA[i] = tensorDesc->dims[i];
        strideA[i] = (int)tensorDesc->strides[i];
    }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *filterDesc) {
    COUNT_CALL();
    return create((void **)filterDesc, sizeof(struct cudnnFilterStruct), FILTER);
}

cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc) {
    COUNT_CALL();
    return destroy(filterDesc, FILTER);
}

/* 3 to 8 dimensions (K, C/groups, spatial...), NCHW only: the real library also takes
 * NHWC, which the fake does not (NOT_SUPPORTED). */
cudnnStatus_t cudnnSetFilterNdDescriptor(cudnnFilterDescriptor_t filterDesc,
                                         cudnnDataType_t dataType, cudnnTensorFormat_t format,
                                         int nbDims, const int filterDimA[]) {
    COUNT_CALL();
    if (!is_live(filterDesc, FILTER) || filterDimA == NULL || nbDims < 3 ||
        !filter_type_known(dataType))
        return CUDNN_STATUS_BAD_PARAM;
    if (format != CUDNN_TENSOR_NCHW)
        return format == CUDNN_TENSOR_NHWC ? CUDNN_STATUS_NOT_SUPPORTED
                                           : CUDNN_STATUS_BAD_PARAM;
    if (nbDims > MAX_DIMS)
        return CUDNN_STATUS_NOT_SUPPORTED;
    for (int i = 0; i < nbDims; i++)
        if (filterDimA[i] <= 0)
            return CUDNN_STATUS_BAD_PARAM;
    filterDesc->type = dataType;
    filterDesc->nb = nbDims;
    memcpy(filterDesc->dims, filterDimA, (size_t)nbDims * sizeof(int));
    filterDesc->is_set = 1;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *convDesc) {
    COUNT_CALL();
    cudnnStatus_t status = create((void **)convDesc, sizeof(struct cudnnConvolutionStruct),
                                  CONVOLUTION);
    if (status == CUDNN_STATUS_SUCCESS) {
        (*convDesc)->groups = 1;
        (*convDesc)->math = CUDNN_DEFAULT_MATH;
    }
    return status;
}

cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc) {
    COUNT_CALL();
    return destroy(convDesc, CONVOLUTION);
}

cudnnStatus_t cudnnSetConvolutionNdDescriptor(cudnnConvolutionDescriptor_t convDesc,
                                              int arrayLength, const int padA[],
                                              const int filterStrideA[], const int dilationA[],
                                              cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType) {
    COUNT_CALL();
    if (!is_live(convDesc, CONVOLUTION) || padA == NULL || filterStrideA == NULL ||
        dilationA == NULL || arrayLength < 1 || !compute_type_known(computeType) ||
        (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION))
        return CUDNN_STATUS_BAD_PARAM;
    if (arrayLength > MAX_SPATIAL)
        return CUDNN_STATUS_NOT_SUPPORTED;
    for (int i = 0; i < arrayLength; i++)
        if (padA[i] < 0 || filterStrideA[i] <= 0 || dilationA[i] <= 0)
            return CUDNN_STATUS_BAD_PARAM;
    convDesc->nb = arrayLength;
    for (int i = 0; i < arrayLength; i++) {
        convDesc->pad[i] = padA[i];
        convDesc->stride[i] = filterStrideA[i];
        convDesc->dilation[i] = dilationA[i];
    }
    convDesc->mode = mode;
    convDesc->compute_type = computeType;
    convDesc->is_set = 1;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc,
                                            int groupCount) {
    COUNT_CALL();
    if (!is_live(convDesc, CONVOLUTION) || groupCount < 1)
        return CUDNN_STATUS_BAD_PARAM;
    convDesc->groups = groupCount;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc,
                                          cudnnMathType_t mathType) {
    COUNT_CALL();
    if (!is_live(convDesc, CONVOLUTION) || (int)mathType < CUDNN_DEFAULT_MATH ||
        (int)mathType > CUDNN_FMA_MATH)
        return CUDNN_STATUS_BAD_PARAM;
    convDesc->math = mathType;
    return CUDNN_STATUS_SUCCESS;
}

/* The real library checks the channels against the groups here, but not K against them
 * nor the data types; it fills the first nbDims (<= the tensor's) dimensions. */
cudnnStatus_t cudnnGetConvolutionNdForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc,
                                                    const cudnnTensorDescriptor_t inputTensorDesc,
                                                    const cudnnFilterDescriptor_t filterDesc,
                                                    int nbDims, int tensorOuputDimA[]) {
    COUNT_CALL();
    int dims[MAX_DIMS];
    cudnnStatus_t status = output_dims(convDesc, inputTensorDesc, filterDesc, dims);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    if (tensorOuputDimA == NULL || nbDims < 1 || nbDims > inputTensorDesc->nb)
        return CUDNN_STATUS_BAD_PARAM;
    memcpy(tensorOuputDimA, dims, (size_t)nbDims * sizeof(int));
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ the API: algorithms */

cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t handle, int *count) {
    COUNT_CALL();
    if (!is_live(handle, HANDLE) || count == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    *count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnnHandle_t handle,
                                                               int *count) {
    COUNT_CALL();
    if (!is_live(handle, HANDLE) || count == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    *count = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnnHandle_t handle,
                                                                 int *count) {
    COUNT_CALL();
    if (!is_live(handle, HANDLE) || count == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    *count = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle,
                                                     const cudnnTensorDescriptor_t srcDesc,
                                                     const cudnnFilterDescriptor_t filterDesc,
                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t destDesc,
                                                     const int requestedAlgoCount,
                                                     int *returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t *perfResults) {
    COUNT_CALL();
    return heuristics(FORWARD, handle, srcDesc, filterDesc, convDesc, destDesc,
                      requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc,
    const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount,
    int *returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t *perfResults) {
    COUNT_CALL();
    return heuristics(BACKWARD_DATA, handle, gradDesc, filterDesc, convDesc, diffDesc,
                      requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
    const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnFilterDescriptor_t gradDesc, const int requestedAlgoCount,
    int *returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t *perfResults) {
    COUNT_CALL();
    return heuristics(BACKWARD_FILTER, handle, srcDesc, gradDesc, convDesc, diffDesc,
                      requestedAlgoCount, returnedAlgoCount, perfResults);
}

/* cudnnFind*: cuDNN runs every algorithm and lists them fastest first. The fake lists the
 * heuristics' entries with the supported ones in reverse (so a benchmark's choice differs
 * from the heuristics'), times 1, 2, ... ms, and the unsupported ones last (time -1). */
static cudnnStatus_t find(enum direction dir, cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                          cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                          cudnnTensorDescriptor_t y, int requested, int *returned,
                          void *results) {
    struct perf all[N_ALGOS];
    int n_all = 0;
    cudnnStatus_t status = heuristics(dir, handle, x, w, conv, y, N_ALGOS, &n_all, all);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    if (requested <= 0 || returned == NULL || results == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    struct perf sorted[N_ALGOS];
    int n = 0;
    for (int i = n_all - 1; i >= 0; i--)
        if (all[i].status == CUDNN_STATUS_SUCCESS) {
            sorted[n] = all[i];
            sorted[n].time = (float)(n + 1);
            n++;
        }
    for (int i = 0; i < n_all; i++)
        if (all[i].status != CUDNN_STATUS_SUCCESS)
            sorted[n++] = all[i];
    if (n > requested)
        n = requested;
    memcpy(results, sorted, (size_t)n * sizeof(struct perf));
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(cudnnHandle_t handle,
                                                   const cudnnTensorDescriptor_t xDesc,
                                                   const cudnnFilterDescriptor_t wDesc,
                                                   const cudnnConvolutionDescriptor_t convDesc,
                                                   const cudnnTensorDescriptor_t yDesc,
                                                   const int requestedAlgoCount,
                                                   int *returnedAlgoCount,
                                                   cudnnConvolutionFwdAlgoPerf_t *perfResults) {
    COUNT_CALL();
    return find(FORWARD, handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount,
                returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
    const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t dxDesc, const int requestedAlgoCount,
    int *returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t *perfResults) {
    COUNT_CALL();
    return find(BACKWARD_DATA, handle, dxDesc, wDesc, convDesc, dyDesc, requestedAlgoCount,
                returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithm(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
    const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnFilterDescriptor_t dwDesc, const int requestedAlgoCount,
    int *returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t *perfResults) {
    COUNT_CALL();
    return find(BACKWARD_FILTER, handle, xDesc, dwDesc, convDesc, dyDesc, requestedAlgoCount,
                returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle,
                                                      const cudnnTensorDescriptor_t xDesc,
                                                      const cudnnFilterDescriptor_t wDesc,
                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                      const cudnnTensorDescriptor_t yDesc,
                                                      cudnnConvolutionFwdAlgo_t algo,
                                                      size_t *sizeInBytes) {
    COUNT_CALL();
    return workspace_size(FORWARD, handle, xDesc, wDesc, convDesc, yDesc, (int)algo,
                          sizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
    const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t dxDesc, cudnnConvolutionBwdDataAlgo_t algo,
    size_t *sizeInBytes) {
    COUNT_CALL();
    return workspace_size(BACKWARD_DATA, handle, dxDesc, wDesc, convDesc, dyDesc, (int)algo,
                          sizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
    const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnFilterDescriptor_t gradDesc, cudnnConvolutionBwdFilterAlgo_t algo,
    size_t *sizeInBytes) {
    COUNT_CALL();
    return workspace_size(BACKWARD_FILTER, handle, xDesc, gradDesc, convDesc, dyDesc,
                          (int)algo, sizeInBytes);
}

/* ------------------------------------------------------------------ the API: computing */

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha,
                                      const cudnnTensorDescriptor_t xDesc, const void *x,
                                      const cudnnFilterDescriptor_t wDesc, const void *w,
                                      const cudnnConvolutionDescriptor_t convDesc,
                                      cudnnConvolutionFwdAlgo_t algo, void *workSpace,
                                      size_t workSpaceSizeInBytes, const void *beta,
                                      const cudnnTensorDescriptor_t yDesc, void *y) {
    COUNT_CALL();
    return run(FORWARD, __func__, handle, alpha, beta, xDesc, x, wDesc, w, convDesc, yDesc,
               y, y, (int)algo, workSpace, workSpaceSizeInBytes);
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha,
                                           const cudnnFilterDescriptor_t wDesc, const void *w,
                                           const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                           const cudnnConvolutionDescriptor_t convDesc,
                                           cudnnConvolutionBwdDataAlgo_t algo, void *workSpace,
                                           size_t workSpaceSizeInBytes, const void *beta,
                                           const cudnnTensorDescriptor_t dxDesc, void *dx) {
    COUNT_CALL();
    return run(BACKWARD_DATA, __func__, handle, alpha, beta, dxDesc, NULL, wDesc, w, convDesc,
               dyDesc, dy, dx, (int)algo, workSpace, workSpaceSizeInBytes);
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void *alpha,
                                             const cudnnTensorDescriptor_t xDesc, const void *x,
                                             const cudnnTensorDescriptor_t dyDesc,
                                             const void *dy,
                                             const cudnnConvolutionDescriptor_t convDesc,
                                             cudnnConvolutionBwdFilterAlgo_t algo,
                                             void *workSpace, size_t workSpaceSizeInBytes,
                                             const void *beta,
                                             const cudnnFilterDescriptor_t dwDesc, void *dw) {
    COUNT_CALL();
    return run(BACKWARD_FILTER, __func__, handle, alpha, beta, xDesc, x, dwDesc, NULL,
               convDesc, dyDesc, dy, dw, (int)algo, workSpace, workSpaceSizeInBytes);
}

/* db = alpha * (dy summed over all but the channel dimension) + beta * db, where db is
 * (1, K, 1, ...) for a dy of (N, K, ...) */
cudnnStatus_t cudnnConvolutionBackwardBias(cudnnHandle_t handle, const void *alpha,
                                           const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                           const void *beta,
                                           const cudnnTensorDescriptor_t dbDesc, void *db) {
    COUNT_CALL();
    if (!is_live(handle, HANDLE) || !tensor_ready(dyDesc) || !tensor_ready(dbDesc) ||
        alpha == NULL || beta == NULL || dy == NULL || db == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    int nb = dyDesc->nb;
    if (dbDesc->nb != nb || dbDesc->type != dyDesc->type || dbDesc->dims[1] != dyDesc->dims[1])
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < nb; i++)
        if (i != 1 && dbDesc->dims[i] != 1)
            return CUDNN_STATUS_BAD_PARAM;
    if (!supported_type(dyDesc->type))
        return CUDNN_STATUS_NOT_SUPPORTED;
    double *g = gather(dy, dyDesc->type, nb, dyDesc->dims, dyDesc->strides);
    double *sums = calloc((size_t)dyDesc->dims[1], sizeof *sums);
    if (g != NULL && sums != NULL) {
        long long channels = dyDesc->dims[1], inner = count(nb - 2, dyDesc->dims + 2);
        for (long long i = 0; i < count(nb, dyDesc->dims); i++)
            sums[i / inner % channels] += g[i];
        blend(db, dbDesc->type, nb, dbDesc->dims, dbDesc->strides, sums,
              scaling(alpha, dbDesc->type), scaling(beta, dbDesc->type));
    }
    int ok = g != NULL && sums != NULL;
    free(g);
    free(sums);
    return ok ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
}

/* C = alpha * A + beta * C, A broadcast along its dimensions of size 1; the same number of
 * dimensions and data type; up to 5 dimensions (the real library's limit). */
cudnnStatus_t cudnnAddTensor(cudnnHandle_t handle, const void *alpha,
                             const cudnnTensorDescriptor_t aDesc, const void *A,
                             const void *beta, const cudnnTensorDescriptor_t cDesc, void *C) {
    COUNT_CALL();
    if (!is_live(handle, HANDLE) || !tensor_ready(aDesc) || !tensor_ready(cDesc) ||
        alpha == NULL || beta == NULL || A == NULL || C == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    int nb = cDesc->nb;
    if (aDesc->nb != nb || aDesc->type != cDesc->type)
        return CUDNN_STATUS_BAD_PARAM;
    long long a_strides[MAX_DIMS];   /* 0 along the broadcast dimensions */
    for (int i = 0; i < nb; i++) {
        if (aDesc->dims[i] != cDesc->dims[i] && aDesc->dims[i] != 1)
            return CUDNN_STATUS_BAD_PARAM;
        a_strides[i] = aDesc->dims[i] == 1 ? 0 : aDesc->strides[i];
    }
    if (nb > 5 || !supported_type(cDesc->type))
        return CUDNN_STATUS_NOT_SUPPORTED;
    double *a = gather(A, aDesc->type, nb, cDesc->dims, a_strides);
    if (a == NULL)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    blend(C, cDesc->type, nb, cDesc->dims, cDesc->strides, a, scaling(alpha, cDesc->type),
          scaling(beta, cDesc->type));
    free(a);
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ batch normalization */

/* The parameters' shape for x and `mode` (the real library's rule, for any tensor it
 * accepts): (1, C, 1, ...) in the spatial modes, (1, C, spatial...) per activation; double
 * for double x, float for half, bfloat16 and int8 x, x's own type otherwise. */
static cudnnStatus_t bn_param_shape(cudnnTensorDescriptor_t x, cudnnBatchNormMode_t mode,
                                    int *dims, cudnnDataType_t *type) {
    if (!tensor_ready(x) || (int)mode < CUDNN_BATCHNORM_PER_ACTIVATION ||
        (int)mode > CUDNN_BATCHNORM_SPATIAL_PERSISTENT)
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < x->nb; i++)
        dims[i] = i == 1 || (i > 1 && mode == CUDNN_BATCHNORM_PER_ACTIVATION) ? x->dims[i] : 1;
    int widened = x->type == CUDNN_DATA_HALF || x->type == CUDNN_DATA_BFLOAT16 ||
                  x->type == CUDNN_DATA_INT8;
    *type = widened ? CUDNN_DATA_FLOAT : x->type;
    return CUDNN_STATUS_SUCCESS;
}

/* Any x the real library accepts (2 to 8 dimensions, any strides); the result is
 * contiguous. derivedBnDesc may be xDesc itself. */
cudnnStatus_t cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derivedBnDesc,
                                            const cudnnTensorDescriptor_t xDesc,
                                            cudnnBatchNormMode_t mode) {
    COUNT_CALL();
    int dims[MAX_DIMS];
    cudnnDataType_t type;
    if (!is_live(derivedBnDesc, TENSOR))
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t status = bn_param_shape(xDesc, mode, dims, &type);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    derivedBnDesc->type = type;
    derivedBnDesc->nb = xDesc->nb;
    memcpy(derivedBnDesc->dims, dims, (size_t)xDesc->nb * sizeof(int));
    contiguous_strides(xDesc->nb, dims, derivedBnDesc->strides);
    derivedBnDesc->is_set = 1;
    return CUDNN_STATUS_SUCCESS;
}

static int same_shape(cudnnTensorDescriptor_t a, cudnnTensorDescriptor_t b) {
    return tensor_ready(a) && tensor_ready(b) && a->nb == b->nb && a->type == b->type &&
           memcmp(a->dims, b->dims, (size_t)a->nb * sizeof(int)) == 0;
}

/* A batch normalization's sizes, checked. x's element of C-order index i belongs to the
 * parameter i / inner % params: one per channel (inner: the spatial size) in the spatial
 * modes, one per channel and position (inner: 1) per activation; each parameter's
 * statistics run over `per_param` elements. The parameter tensors are read and written
 * through their descriptor's strides (a derived descriptor's are contiguous). */
struct norm {
    const struct cudnnTensorStruct *x, *param;
    long long total, params, inner, per_param;
};

/* BAD_PARAM where cuDNN's documentation lists it: x other than 4-D or 5-D, y (dy) not of x's
 * dims and type, parameters not of the derived shape and type, epsilon below
 * CUDNN_BN_MIN_EPSILON (or NaN); then NOT_SUPPORTED for types the fake does not compute. */
static cudnnStatus_t check_norm(cudnnHandle_t handle, cudnnBatchNormMode_t mode,
                                cudnnTensorDescriptor_t x, cudnnTensorDescriptor_t y,
                                cudnnTensorDescriptor_t param, double epsilon,
                                struct norm *b) {
    int dims[MAX_DIMS];
    cudnnDataType_t type;
    if (!is_live(handle, HANDLE) || !tensor_ready(param))
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t status = bn_param_shape(x, mode, dims, &type);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    if ((x->nb != 4 && x->nb != 5) || !same_shape(x, y) || param->nb != x->nb ||
        param->type != type || memcmp(param->dims, dims, (size_t)x->nb * sizeof(int)) != 0 ||
        !(epsilon >= CUDNN_BN_MIN_EPSILON))
        return CUDNN_STATUS_BAD_PARAM;
    if (!supported_type(x->type))
        return CUDNN_STATUS_NOT_SUPPORTED;
    b->x = x;
    b->param = param;
    b->total = count(x->nb, x->dims);
    b->params = count(x->nb, dims);
    b->inner = mode == CUDNN_BATCHNORM_PER_ACTIVATION ? 1 : count(x->nb - 2, x->dims + 2);
    b->per_param = b->total / b->params;
    return CUDNN_STATUS_SUCCESS;
}

static long long param_of(const struct norm *b, long long i) {
    return i / b->inner % b->params;
}

/* x (or dy) as dense doubles, malloc'ed */
static double *gather_data(const void *data, cudnnTensorDescriptor_t desc) {
    return gather(data, desc->type, desc->nb, desc->dims, desc->strides);
}

/* a parameter tensor as doubles, malloc'ed */
static double *gather_param(const struct norm *b, const void *data) {
    const struct cudnnTensorStruct *t = b->param;
    return gather(data, t->type, t->nb, t->dims, t->strides);
}

static void store_param(const struct norm *b, void *data, long long p, double v) {
    const struct cudnnTensorStruct *t = b->param;
    store(data, offset_of(p, t->nb, t->dims, t->strides), t->type, v);
}

/* each parameter's mean and biased variance over its elements of dense x (two passes) */
static void moments(const struct norm *b, const double *x, double *mean, double *var) {
    for (long long p = 0; p < b->params; p++)
        mean[p] = var[p] = 0;
    for (long long i = 0; i < b->total; i++)
        mean[param_of(b, i)] += x[i];
    for (long long p = 0; p < b->params; p++)
        mean[p] /= (double)b->per_param;
    for (long long i = 0; i < b->total; i++) {
        double d = x[i] - mean[param_of(b, i)];
        var[param_of(b, i)] += d * d;
    }
    for (long long p = 0; p < b->params; p++)
        var[p] /= (double)b->per_param;
}

/* var (n values) becomes 1 / sqrt(var + epsilon), in place */
static void invert_std(long long n, double *var, double epsilon) {
    for (long long p = 0; p < n; p++)
        var[p] = 1 / sqrt(var[p] + epsilon);
}

/* y = alpha * (scale * (x - mean) * invstd + bias) + beta * y, from dense x; `out` is
 * scratch of x's size */
static void normalize(const struct norm *b, const double *x, const double *mean,
                      const double *invstd, const double *scale, const double *bias,
                      const void *alpha, const void *beta, cudnnTensorDescriptor_t y_desc,
                      void *y, double *out) {
    for (long long i = 0; i < b->total; i++) {
        long long p = param_of(b, i);
        out[i] = scale[p] * (x[i] - mean[p]) * invstd[p] + bias[p];
    }
    blend(y, y_desc->type, y_desc->nb, y_desc->dims, y_desc->strides, out,
          scaling(alpha, b->x->type), scaling(beta, b->x->type));
}

#define COUNT_OF(array) ((int)(sizeof(array) / sizeof *(array)))

static int all_allocated(int n, double *const *buffers) {
    for (int i = 0; i < n; i++)
        if (buffers[i] == NULL)
            return 0;
    return 1;
}

static void free_all(int n, double **buffers) {
    for (int i = 0; i < n; i++)
        free(buffers[i]);
}

/* y from the given statistics (estimatedVariance: the variance itself), as in training */
cudnnStatus_t cudnnBatchNormalizationForwardInference(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc,
    void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
    const void *bnBias, const void *estimatedMean, const void *estimatedVariance,
    double epsilon) {
    COUNT_CALL();
    struct norm b;
    cudnnStatus_t status = check_norm(handle, mode, xDesc, yDesc, bnScaleBiasMeanVarDesc,
                                      epsilon, &b);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    if (alpha == NULL || beta == NULL || x == NULL || y == NULL || bnScale == NULL ||
        bnBias == NULL || estimatedMean == NULL || estimatedVariance == NULL)
        return CUDNN_STATUS_BAD_PARAM;
    double *buffers[] = {gather_data(x, xDesc), gather_param(&b, bnScale),
                         gather_param(&b, bnBias), gather_param(&b, estimatedMean),
                         gather_param(&b, estimatedVariance),
                         malloc((size_t)b.total * sizeof(double))};
    double *xs = buffers[0], *scale = buffers[1], *bias = buffers[2], *mean = buffers[3];
    double *invstd = buffers[4], *out = buffers[5];
    int ok = all_allocated(COUNT_OF(buffers), buffers);
    if (ok) {
        invert_std(b.params, invstd, epsilon);
        normalize(&b, xs, mean, invstd, scale, bias, alpha, beta, yDesc, y, out);
    }
    free_all(COUNT_OF(buffers), buffers);
    return ok ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
}

/* y from the batch's statistics: each parameter's mean and biased variance. The running
 * statistics (both or neither given) move by exponentialAverageFactor towards the mean and
 * the UNBIASED variance; the saved ones (both or neither) get the mean and the inverse
 * standard deviation 1 / sqrt(var + epsilon). */
cudnnStatus_t cudnnBatchNormalizationForwardTraining(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc,
    void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
    const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
    void *resultRunningVariance, double epsilon, void *resultSaveMean,
    void *resultSaveInvVariance) {
    COUNT_CALL();
    struct norm b;
    cudnnStatus_t status = check_norm(handle, mode, xDesc, yDesc, bnScaleBiasMeanVarDesc,
                                      epsilon, &b);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    if (alpha == NULL || beta == NULL || x == NULL || y == NULL || bnScale == NULL ||
        bnBias == NULL || (resultRunningMean == NULL) != (resultRunningVariance == NULL) ||
        (resultSaveMean == NULL) != (resultSaveInvVariance == NULL))
        return CUDNN_STATUS_BAD_PARAM;
    int running = resultRunningMean != NULL, saving = resultSaveMean != NULL;
    size_t param_bytes = (size_t)b.params * sizeof(double);
    double *buffers[] = {gather_data(x, xDesc), gather_param(&b, bnScale),
                         gather_param(&b, bnBias), malloc(param_bytes), malloc(param_bytes),
                         malloc((size_t)b.total * sizeof(double)),
                         running ? gather_param(&b, resultRunningMean) : malloc(1),
                         running ? gather_param(&b, resultRunningVariance) : malloc(1)};
    double *xs = buffers[0], *scale = buffers[1], *bias = buffers[2], *mean = buffers[3];
    double *invstd = buffers[4], *out = buffers[5], *run_mean = buffers[6];
    double *run_var = buffers[7];
    int ok = all_allocated(COUNT_OF(buffers), buffers);
    if (ok) {
        moments(&b, xs, mean, invstd);
        double n = (double)b.per_param, f = exponentialAverageFactor;
        for (long long p = 0; p < b.params && running; p++) {
            double unbiased = invstd[p] * n / (n - 1);   /* n == 1: 0 / 0, NaN */
            store_param(&b, resultRunningMean, p, (1 - f) * run_mean[p] + f * mean[p]);
            store_param(&b, resultRunningVariance, p, (1 - f) * run_var[p] + f * unbiased);
        }
        invert_std(b.params, invstd, epsilon);
        normalize(&b, xs, mean, invstd, scale, bias, alpha, beta, yDesc, y, out);
        for (long long p = 0; p < b.params && saving; p++) {
            store_param(&b, resultSaveMean, p, mean[p]);
            store_param(&b, resultSaveInvVariance, p, invstd[p]);
        }
    }
    free_all(COUNT_OF(buffers), buffers);
    return ok ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
}

/* With xhat = (x - mean) * invstd and m the elements per parameter:
 * dx = invstd * scale * (dy - sum(dy) / m - xhat * sum(dy * xhat) / m),
 * dscale = sum(dy * xhat), dbias = sum(dy), each blended with its alpha and beta. The
 * statistics are the saved ones (both or neither given) or recomputed from x. */
cudnnStatus_t cudnnBatchNormalizationBackward(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alphaDataDiff,
    const void *betaDataDiff, const void *alphaParamDiff, const void *betaParamDiff,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc,
    const void *dy, const cudnnTensorDescriptor_t dxDesc, void *dx,
    const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void *bnScale, void *dBnScaleResult,
    void *dBnBiasResult, double epsilon, const void *savedMean, const void *savedInvVariance) {
    COUNT_CALL();
    struct norm b;
    cudnnStatus_t status = check_norm(handle, mode, xDesc, dyDesc, dBnScaleBiasDesc, epsilon,
                                      &b);
    if (status != CUDNN_STATUS_SUCCESS)
        return status;
    if (!same_shape(xDesc, dxDesc) || alphaDataDiff == NULL || betaDataDiff == NULL ||
        alphaParamDiff == NULL || betaParamDiff == NULL || x == NULL || dy == NULL ||
        dx == NULL || bnScale == NULL || dBnScaleResult == NULL || dBnBiasResult == NULL ||
        (savedMean == NULL) != (savedInvVariance == NULL))
        return CUDNN_STATUS_BAD_PARAM;
    int saved = savedMean != NULL;
    size_t param_bytes = (size_t)b.params * sizeof(double);
    double *buffers[] = {gather_data(x, xDesc), gather_data(dy, dyDesc),
                         gather_param(&b, bnScale),
                         saved ? gather_param(&b, savedMean) : malloc(param_bytes),
                         saved ? gather_param(&b, savedInvVariance) : malloc(param_bytes),
                         calloc((size_t)b.params, sizeof(double)),
                         calloc((size_t)b.params, sizeof(double)),
                         malloc((size_t)b.total * sizeof(double))};
    double *xs = buffers[0], *dys = buffers[1], *scale = buffers[2], *mean = buffers[3];
    double *invstd = buffers[4], *sum_dy = buffers[5], *sum_dy_xhat = buffers[6];
    double *out = buffers[7];
    int ok = all_allocated(COUNT_OF(buffers), buffers);
    if (ok) {
        if (!saved) {
            moments(&b, xs, mean, invstd);
            invert_std(b.params, invstd, epsilon);
        }
        for (long long i = 0; i < b.total; i++) {
            long long p = param_of(&b, i);
            sum_dy[p] += dys[i];
            sum_dy_xhat[p] += dys[i] * (xs[i] - mean[p]) * invstd[p];
        }
        double m = (double)b.per_param;
        for (long long i = 0; i < b.total; i++) {
            long long p = param_of(&b, i);
            double xhat = (xs[i] - mean[p]) * invstd[p];
            out[i] = invstd[p] * scale[p] * (dys[i] - sum_dy[p] / m - xhat * sum_dy_xhat[p] / m);
        }
        cudnnDataType_t t = xDesc->type;
        blend(dx, dxDesc->type, dxDesc->nb, dxDesc->dims, dxDesc->strides, out,
              scaling(alphaDataDiff, t), scaling(betaDataDiff, t));
        const struct cudnnTensorStruct *pd = b.param;
        blend(dBnScaleResult, pd->type, pd->nb, pd->dims, pd->strides, sum_dy_xhat,
              scaling(alphaParamDiff, t), scaling(betaParamDiff, t));
        blend(dBnBiasResult, pd->type, pd->nb, pd->dims, pd->strides, sum_dy,
              scaling(alphaParamDiff, t), scaling(betaParamDiff, t));
    }
    free_all(COUNT_OF(buffers), buffers);
    return ok ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
}

/* ------------------------------------------------------------------ helpers for tests */

/* the stream last set on a live handle (NULL: the default stream, or not a live handle) */
void *fake_cudnn_stream(cudnnHandle_t handle) {
    return is_live(handle, HANDLE) ? (void *)handle->stream : NULL;
}

/* calls of the entry point `name` since the last reset (failed ones too); NULL: all */
int fake_cudnn_calls(const char *name) {
    int calls = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_entry_points; i++)
        if (name == NULL || strcmp(entry_points[i].name, name) == 0)
            calls += entry_points[i].calls;
    pthread_mutex_unlock(&lock);
    return calls;
}

/* the algorithm of the last successful cudnnConvolution{Forward,BackwardData,
 * BackwardFilter} call since the last reset, or -1 */
int fake_cudnn_last_algo(const char *name) {
    int algo = -1;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_entry_points; i++)
        if (name != NULL && strcmp(entry_points[i].name, name) == 0)
            algo = entry_points[i].last_algo;
    pthread_mutex_unlock(&lock);
    return algo;
}

/* handles and descriptors created and not yet destroyed */
int fake_cudnn_live_objects(void) {
    pthread_mutex_lock(&lock);
    int n = n_objects;
    pthread_mutex_unlock(&lock);
    return n;
}

/* forgets the call counts and last algorithms (live objects stay live) */
void fake_cudnn_reset(void) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_entry_points; i++) {
        entry_points[i].calls = 0;
        entry_points[i].last_algo = -1;
    }
    pthread_mutex_unlock(&lock);
}

#!/bin/bash
# On the GPU machine: the CUDA cases of the test suite (and the NCCL test), a failure
# triage, the convolution cases once more without cuDNN (where it loads), the CPU fast
# paths kept off CuPy arrays (tests/test_gpu_paths_gr23.py, bench/gpu/README.md), then optionally
# the GPU benchmarks. Output goes to $OUT.
#   bash bench/gpu/run_tests.sh [pytest -k expression] [bench]
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
K=${1:-"cuda or nccl"}
python3 -c "import ember, cupy; print('ember sees CUDA:', ember.cuda.is_available(), cupy.__version__)"
timeout 420 python3 -m pytest -n 16 -p no:cacheprovider tests -k "$K" --tb=short \
    > $OUT/cuda_tests.log 2>&1
echo "pytest rc=$?"
grep -cE "^FAILED|^ERROR" $OUT/cuda_tests.log
grep -E "[0-9]+ (passed|failed)" $OUT/cuda_tests.log | tail -1
python3 bench/gpu/triage.py $OUT/cuda_tests.log > $OUT/triage.txt
head -60 $OUT/triage.txt
# where cuDNN loads, the run above took it for convolutions: once more on ember's im2col
if python3 -c "import ember, sys; sys.exit(not ember.backends.cudnn.is_available())"; then
    EMBER_CUDNN=0 timeout 170 python3 -m pytest -n 16 -p no:cacheprovider tests \
        -k "cuda and (conv or Conv or resnet or cnn)" --tb=short > $OUT/cuda_im2col.log 2>&1
    echo "im2col pass: $(grep -E '[0-9]+ (passed|failed)' $OUT/cuda_im2col.log | tail -1)"
fi
# the CPU fast paths kept off CuPy arrays (bench/gpu/README.md): with cuDNN where it loads,
# then without it (the convolutions on ember's im2col and kernels)
timeout 120 python3 -m pytest -p no:cacheprovider tests/test_gpu_paths_gr23.py --tb=short \
    > $OUT/gpu_paths.log 2>&1
EMBER_CUDNN=0 timeout 120 python3 -m pytest -p no:cacheprovider tests/test_gpu_paths_gr23.py \
    --tb=short >> $OUT/gpu_paths.log 2>&1
echo "gpu paths: $(grep -E '[0-9]+ (passed|failed)' $OUT/gpu_paths.log | tr '\n' ' ')"

"""Profile ember's GPU training steps on the host side (cProfile), with per-step wall time
next to torch's: where do ember's milliseconds go?

    python bench/gpu/profile_step.py [mlp|cnn|resnet|transformer ...]
"""
import cProfile
import pstats
import sys
import time

from bench import workloads as W

STEPS = {"mlp": W.mlp_train_cuda, "cnn": W.cnn_train_cuda, "resnet": W.resnet_train_cuda,
         "transformer": W.transformer_train_cuda}


def per_step(step, n=10):
    step()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n


def main(names):
    import ember
    import torch
    for name in names:
        e_step, t_step = STEPS[name](ember), STEPS[name](torch)
        te, tt = per_step(e_step), per_step(t_step)
        print(f"== {name}: ember {te * 1e3:.2f} ms, torch {tt * 1e3:.2f} ms, ratio {te / tt:.2f}")
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(5):
            e_step()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main(sys.argv[1:] or list(STEPS))

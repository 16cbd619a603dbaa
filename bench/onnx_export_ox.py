"""torch.onnx.export's time in ember and in PyTorch, side by side, and the exported files
run by onnxruntime.

    python -m bench.onnx_export_ox [--rounds 7] [--model mlp|cnn|resnet18|encoder]

Per round the two exports alternate (ember's, then PyTorch's TorchScript exporter,
dynamo=False: PyTorch 2.13's default exporter needs onnxscript, absent here) on the same
weights, one BLAS/torch thread; the median of the rounds is reported with the ratio
ember/torch and the 1-minute load average (the machine's two cores are shared). Then
both files run once in onnxruntime on one input and the largest difference of their
outputs is printed (the two exporters write different graphs of the same function).
"""
import argparse
import io
import os
import statistics
import sys
import time
import types
import warnings

import numpy as np


def _models(name, nn):
    if name == "mlp":
        return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)), (8, 64)
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)), \
            (4, 3, 32, 32)
    if name == "encoder":
        layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True)
        return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False), (4, 16, 64)
    raise ValueError(name)


def build(name):
    import torch
    import ember
    if name == "resnet18":
        sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("m"))
        import torchvision
        from ember.vision.models import resnet18
        e, t, shape = resnet18(), torchvision.models.resnet18(), (1, 3, 224, 224)
    else:
        (e, shape), (t, _) = _models(name, ember.nn), _models(name, torch.nn)
    t.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                       for k, v in e.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return e.eval(), t.eval(), x


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--model", default="resnet18")
    a = parser.parse_args()
    from threadpoolctl import threadpool_limits
    import torch
    import ember
    import onnxruntime as ort
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    e, t, x = build(a.model)
    ex, tx = ember.tensor(x), torch.from_numpy(x)
    kw = dict(input_names=["input"], output_names=["output"],
              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    times = {"ember": [], "torch": []}
    files = {}
    with threadpool_limits(1):
        for _ in range(a.rounds):
            for lib in ("ember", "torch"):
                buf = io.BytesIO()
                start = time.perf_counter()
                if lib == "ember":
                    ember.onnx.export(e, (ex,), buf, **kw)
                else:
                    torch.onnx.export(t, (tx,), buf, dynamo=False, **kw)
                times[lib].append(time.perf_counter() - start)
                files[lib] = buf.getvalue()
    med = {k: statistics.median(v) for k, v in times.items()}
    outs = {k: ort.InferenceSession(d).run(None, {"input": x})[0] for k, d in files.items()}
    print(f"{a.model}: ember {med['ember'] * 1e3:.1f} ms, torch {med['torch'] * 1e3:.1f} ms, "
          f"ratio {med['ember'] / med['torch']:.2f} (median of {a.rounds}, 1 thread, "
          f"load {os.getloadavg()[0]:.1f}); files {len(files['ember'])} / "
          f"{len(files['torch'])} bytes; onnxruntime outputs differ by "
          f"{float(np.abs(outs['ember'] - outs['torch']).max()):.1e}")


if __name__ == "__main__":
    main()

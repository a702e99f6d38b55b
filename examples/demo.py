"""The main job, end to end: convert the bundled waveform classifier (examples/waveform/) and run
it through the on-device ulab_ml API on an emulated microcontroller (every QEMU board this
checkout knows) and on the MicroPython unix port, then check every output against TensorFlow
Lite Micro bit for bit. Run it with scripts/demo.sh."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ulab_ml_host.cli import describe
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import run_oracle
from ulab_ml_host.targets import TARGETS, Job, run_jobs

HERE = Path(__file__).resolve().parent
CLASSES = ["sine", "square", "triangle", "sawtooth"]


def main() -> int:
    tflite = (HERE / "waveform" / "waveform.tflite").read_bytes()
    x = np.load(HERE / "waveform" / "test_inputs.npy")
    labels = np.load(HERE / "waveform" / "test_labels.npy")
    conv = convert(tflite)
    out_dir = HERE.parent / ".cache" / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "waveform.uml").write_bytes(conv.blob)
    info = describe(conv.blob)
    print(f"converted examples/waveform/waveform.tflite -> .cache/demo/waveform.uml: "
          f"{info['blob_bytes']} bytes, {len(info['ops'])} ops, arena {info['arena_bytes']} bytes, "
          f"{info['macs']} MACs")
    (expected,) = run_oracle([(tflite, x)])
    if not isinstance(expected, np.ndarray):
        print(f"TFLite Micro oracle failed: {expected}")
        return 1
    out = conv.model.tensors[conv.model.outputs[0]]
    ok = True
    targets = [t for t in TARGETS if t.startswith("qemu")] + ["unix"]
    for target in targets:
        (ours,) = run_jobs(target, [Job(conv.blob, x, out.dtype, out.shape)])
        if not isinstance(ours, np.ndarray):
            print(f"{target:>8}: FAILED: {ours}")
            ok = False
            continue
        pred = ours.reshape(len(x), -1).argmax(axis=1)
        exact = np.array_equal(ours.reshape(expected.shape), expected)
        ok &= exact
        print(f"{target:>8}: {len(x)} inferences, accuracy {np.mean(pred == labels):.0%}, "
              f"{'bit-exact with TFLite Micro' if exact else 'DIFFERS from TFLite Micro'}")
        if target == targets[0]:
            for i in range(min(4, len(x))):
                print(f"          window {i}: predicted {CLASSES[pred[i]]:<8} (true {CLASSES[labels[i]]})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Write the fuzzer's seed corpus: one file per blob (a leading 0x00 byte = "fix the CRC"),
from every conformance case (all ops, many configurations) and every shared model."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from tests.conftest import SHARED_MODELS
from ulab_ml_host.convert import convert


def blobs() -> list[bytes]:
    from tests.conformance.test_conformance import CASES
    out = []
    for c in CASES:
        try:
            out.append(convert(c.model).blob)
        except Exception:  # noqa: BLE001 - a case the converter refuses is no seed
            continue
    for path in sorted(SHARED_MODELS.glob("*/*.tflite")):
        try:
            blob = convert(path.read_bytes()).blob
        except Exception:  # noqa: BLE001
            continue
        if len(blob) <= 65536:
            out.append(blob)
    return out


def main(corpus: Path) -> int:
    corpus.mkdir(parents=True, exist_ok=True)
    n = 0
    for blob in blobs():
        data = b"\x00" + blob
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)
        n += 1
    print(f"{n} seed blobs in {corpus}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

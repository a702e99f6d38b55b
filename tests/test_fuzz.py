"""A bounded libFuzzer run of the loader + executor under ASan/UBSan (scripts/fuzz.sh) must
end with zero findings. Longer runs: scripts/fuzz.sh SECONDS (see docs/ROBUSTNESS.md)."""

from __future__ import annotations

import os
import re
import subprocess

from tests.conftest import ROOT

FUZZ_SECONDS = int(os.environ.get("ULAB_ML_FUZZ_SECONDS", "60"))


def test_fuzz_loader_and_executor_zero_findings() -> None:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "fuzz.sh"), str(FUZZ_SECONDS)],
                          capture_output=True, text=True, timeout=FUZZ_SECONDS + 600)
    findings = sorted(p.name for p in (ROOT / ".cache" / "fuzz" / "findings").iterdir())
    assert proc.returncode == 0 and not findings, (
        f"fuzzer exit {proc.returncode}, findings {findings}\n{proc.stderr[-4000:]}")
    runs = re.search(r"stat::number_of_executed_units:\s+(\d+)", proc.stderr)
    assert runs and int(runs.group(1)) > 1000, proc.stderr[-2000:]
    print(f"fuzzer: {runs.group(1)} executions in {FUZZ_SECONDS} s, 0 findings")

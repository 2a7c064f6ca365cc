"""Huge sizes and ranks are refused at once, in a process that could not survive them.

Each probe asks for a result of terabytes to exabytes. The probes run in one child
process whose address space is capped at 3 GiB and whose run is capped in time, so a
probe that starts allocating or computing instead of refusing fails the test
(MemoryError from numpy, a kill, or the timeout) rather than the machine.
Probes counted in issue 17's closing note: 16 here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

resource = pytest.importorskip("resource")  # POSIX only

ROOT = Path(__file__).resolve().parents[2]

PROBES = r"""
import json, resource
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
import numpy as np
import semitensor as st
from semitensor.formats import STRTensor, STTTensor, STTuTensor

big = 10**5
probes = {
    "stp of coprime inner sizes": lambda: st.stp(np.ones((1, 999983)), np.ones((999979, 1))),
    "rstp of coprime inner sizes": lambda: st.rstp(np.ones((1, 999983)), np.ones((999979, 1))),
    "stp broadcasting a stack": lambda: st.stp(np.ones((10**7, 1, 2)), np.ones((3, 10**5))),
    "swap_matrix": lambda: st.swap_matrix(2**16, 2**16),
    "power_reducing_matrix": lambda: st.power_reducing_matrix(2**20),
    "structure_matrix": lambda: st.structure_matrix(lambda *a: a[0], 40),
    "logical_vector": lambda: st.logical_vector(0, 2**50),
    "STT to_tensor": lambda: STTTensor([np.ones((1, big, 2)), np.ones((2, big, 2)),
                                        np.ones((2, big, 1))], 1).to_tensor(),
    "STR to_tensor": lambda: STRTensor([np.ones((2, big, 2))] * 3, 1).to_tensor(),
    "STTu to_tensor": lambda: STTuTensor(np.ones((2, 2, 2)), [np.ones((big, 2))] * 3, 1)
        .to_tensor(),
    "stt_decompose ranks": lambda: st.stt_decompose(np.ones((4, 4, 4)), 2**60, 2),
    "str_decompose ranks": lambda: st.str_decompose(np.ones((4, 4, 4)), 2**60, 2),
    "sttu_decompose ranks": lambda: st.sttu_decompose(np.ones((4, 4, 4)), [2**60] * 3, 2),
    "mode_dot": lambda: st.mode_dot(np.ones((1000, 1000, 1)), np.ones((big, 1)), 2),
    "stp_mode_dot": lambda: st.stp_mode_dot(np.ones((1000, 1000, 1)), np.ones((big, 1)), 2),
    "fold": lambda: st.fold(np.ones((2, 2)), 0, (2, 2**60)),
}
out = {}
for name, probe in probes.items():
    try:
        probe()
        outcome = "returned"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    out[name] = outcome
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def outcomes():
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    run = subprocess.run(
        [sys.executable, "-c", PROBES], capture_output=True, text=True, timeout=120, env=env
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


LIBRARY_REFUSALS = (
    "more than this machine's",  # the memory guard, with the result's size
    "exceeds",  # ranks beyond what the tensor can use
    "must be a positive multiple",
    "is not a mode-0 unfolding",
    "at most 16777216 are built",  # structure_matrix's table limit
)


@pytest.mark.parametrize(
    "probe",
    [
        "stp of coprime inner sizes", "rstp of coprime inner sizes", "stp broadcasting a stack",
        "swap_matrix", "power_reducing_matrix", "structure_matrix", "logical_vector",
        "STT to_tensor", "STR to_tensor", "STTu to_tensor", "stt_decompose ranks",
        "str_decompose ranks", "sttu_decompose ranks", "mode_dot", "stp_mode_dot", "fold",
    ],
)  # fmt: skip
def test_huge_requests_are_refused_by_the_library_before_any_work(outcomes, probe):
    # No timing assertion: a probe that works instead of refusing is caught by the
    # child's memory cap or by its timeout, whatever the machine's speed.
    outcome = outcomes[probe]
    kind = outcome.split(":")[0]
    assert kind in ("MemoryError", "ValueError"), outcome
    assert any(s in outcome for s in LIBRARY_REFUSALS), outcome  # not numpy's own error

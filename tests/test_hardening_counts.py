"""The run's "cnnkit hardening counts" section reports the hardening categories of issue 14.

Runs a few of the hardening tests in a subprocess (the real pytest terminal summary) and checks
that each category appears with the number of probes those tests made.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TESTS = {
    "subclass probes": "tests/test_hardening_subclass.py::test_public_kernels_refuse_matrix_and_masked_arrays",
    "budget checks": "tests/test_hardening_budget.py::test_strides_forward_budget_is_exactly_its_buffers",
    "cache-mutation probes": "tests/test_hardening_cache.py::test_a_cache_of_the_other_fast_conv_is_still_named_as_such",
    "odd-input probes": "tests/test_hardening_messages.py::test_odd_backward_input_gets_a_cnnkit_message[relu_backward]",
}


def test_the_hardening_categories_are_counted_in_the_summary():
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS.values()],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    section = proc.stdout.split("cnnkit hardening counts", 1)[-1]
    for category in TESTS:
        m = re.search(rf"^{re.escape(category)}: (\d+)$", section, flags=re.M)
        assert m and int(m.group(1)) > 0, f"no '{category}' count in the summary:\n{proc.stdout[-2000:]}"

"""Run a piece of media code in a fresh interpreter and report its peak memory.

Memory classes (decompression bombs, inflated decodes) are asserted on the peak resident set
of a child process, read by the child itself from ``/proc/self/status`` (``VmHWM``, the peak of
this program's own address space). ``getrusage`` is no good here: Linux carries ``ru_maxrss``
across fork and exec, so a child of a 100 MB pytest process "peaks" at 100 MB before it runs a
line, and ``RUSAGE_CHILDREN`` mixes in every earlier child (ffmpeg, other tests). The child
reports its resident size after the imports and its peak after the call, so a test can bound
what the call itself added.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

_CHILD = """
import json
from media_analysis_dagster.media.errors import MediaError
{imports}
def _status_mb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
result = {{"imported_mb": _status_mb("VmRSS")}}
try:
{body}
except MediaError as exc:
    result["error"] = type(exc).__name__
    result["message"] = str(exc)
result["peak_mb"] = _status_mb("VmHWM")
print(json.dumps(result))
"""


def run_measured(imports: str, body: str, *, timeout: float = 120) -> dict[str, Any]:
    """Run ``body`` (which may set keys of the dict ``result``) after ``imports`` in a child.

    Returns ``result`` plus ``imported_mb`` (resident after the imports), ``peak_mb`` (peak)
    and, when the body raised a MediaError, ``error`` (class name) and ``message``. Any other
    exception fails the test with the child's stderr.
    """
    if not Path("/proc/self/status").exists():
        pytest.skip("peak memory is read from /proc/self/status (Linux)")
    code = _CHILD.format(
        imports=textwrap.dedent(imports), body=textwrap.indent(textwrap.dedent(body), "    ")
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False
    )
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, (
        f"child failed ({proc.returncode}): {proc.stderr[-3000:]}"
    )
    result: dict[str, Any] = json.loads(lines[-1])
    result["added_mb"] = result["peak_mb"] - result["imported_mb"]
    return result

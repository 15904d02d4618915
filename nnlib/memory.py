"""How much memory this process has used at its peak (course claims such as "under 600 MB")."""

from __future__ import annotations

import sys
from pathlib import Path


def peak_memory_mb() -> float | None:
    """Peak resident memory of this process so far, in MB (10^6 bytes); None where unknown.

    On Linux this is ``VmHWM`` from /proc/self/status, the high-water mark of
    this process's own memory. ``getrusage``'s ``ru_maxrss`` is not: Linux
    carries it across fork and exec, so a Jupyter kernel started by a large
    process (pytest after loading MNIST, say) would report its parent's peak.
    Elsewhere (macOS, BSD) ``ru_maxrss`` is the best there is; Windows gives None.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6  # the value is in kB
    try:
        import resource
    except ImportError:  # Windows
        return None
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss * (1 if sys.platform == "darwin" else 1024) / 1e6

"""One progress bar for the whole library: training loops and downloads.

tqdm's ``auto`` flavour draws a widget in Jupyter and a text bar in a terminal.
Bars write carriage returns and timings, which differ from run to run, so they
can be switched off: per call (``enabled=False``) or for a whole session with
the environment variable ``NNLIB_PROGRESS=0`` (CI sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def progress_enabled(enabled: bool | None = None) -> bool:
    """Whether a bar should be drawn.

    ``enabled`` wins when given; otherwise ``NNLIB_PROGRESS=0`` (or ``false``,
    ``no``, ``off``) turns bars off and anything else leaves them on.
    """
    if enabled is not None:
        return bool(enabled)
    return os.environ.get("NNLIB_PROGRESS", "1").strip().lower() not in {"0", "false", "no", "off"}


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
    enabled: bool | None = None,
    **kwargs: Any,
) -> tqdm:
    """A tqdm bar (widget in Jupyter, text in a terminal), or a silent one.

    A disabled bar is still a working tqdm object, so callers never need an
    ``if`` around ``update`` or ``set_postfix``.
    """
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=not progress_enabled(enabled),
        **kwargs,
    )

"""A terminal progress bar for the pipeline's frame-level progress."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm


@contextmanager
def terminal_progress(enabled: bool = True) -> Iterator[None]:
    """Show ``make`` progress (stage, frames done / total) as a terminal bar."""
    from ..pipeline import reporting

    state: dict = {"bar": None, "stage": None}

    def update(stage: str, done: int, total: int) -> None:
        if stage != state["stage"]:
            if state["bar"] is not None:
                state["bar"].close()
            state["bar"] = tqdm(total=total, desc=stage, unit="frame", leave=False)
            state["stage"] = stage
        bar = state["bar"]
        bar.update(done - bar.n)

    try:
        with reporting(progress=update if enabled else None):
            yield
    finally:
        if state["bar"] is not None:
            state["bar"].close()

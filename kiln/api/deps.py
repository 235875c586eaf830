"""Dependencies the routers share: the runtime, and time-window parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from kiln.errors import BadInput
from kiln.runtime import Runtime

DAY_MS = 86_400_000


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was built with."""
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class Window:
    """A [start_ms, end_ms) window; by default the last hour up to now."""

    def __init__(
        self,
        rt: RuntimeDep,
        start: Annotated[int | None, Query(description="UTC epoch ms, inclusive")] = None,
        end: Annotated[int | None, Query(description="UTC epoch ms, exclusive")] = None,
    ) -> None:
        now = rt.clock.now_ms()
        self.end_ms = end if end is not None else now + 1
        self.start_ms = start if start is not None else self.end_ms - 3_600_000
        if self.start_ms >= self.end_ms:
            raise BadInput("start must be before end", where="query: start")
        if self.end_ms - self.start_ms > 400 * DAY_MS:
            raise BadInput("a window may span at most 400 days", where="query: start")


WindowDep = Annotated[Window, Depends(Window)]

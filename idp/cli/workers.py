"""The supervisor of `idp serve --workers N`."""

from __future__ import annotations

from prometheus_client.multiprocess import mark_process_dead
from uvicorn.supervisors import Multiprocess


class Workers(Multiprocess):
    """uvicorn's supervisor of worker processes, which also tells prometheus-client of
    each worker that died and was replaced (`mark_process_dead`): the counts it made
    stay in the metrics folder, its live values go."""

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                mark_process_dead(pid)  # type: ignore[no-untyped-call]

"""Work handed to worker threads: results, errors and cancellation come back to the loop."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from idp.offload import Workers, run_slow, run_sync


def test_a_call_runs_in_another_thread_and_returns_its_result() -> None:
    async def main() -> tuple[int, int]:
        return await run_sync(threading.get_ident), threading.get_ident()

    worker, loop_thread = asyncio.run(main())

    assert worker != loop_thread


def test_an_error_reaches_the_caller() -> None:
    def fail(message: str) -> None:
        raise ValueError(message)

    with pytest.raises(ValueError, match="no good"):
        asyncio.run(run_slow(fail, "no good"))


def test_many_calls_from_many_tasks_each_get_their_own_result() -> None:
    workers = Workers(2, "test")

    async def main() -> list[int]:
        return await asyncio.gather(*(workers.run(lambda n=n: n * n) for n in range(200)))

    assert asyncio.run(main()) == [n * n for n in range(200)]


def test_a_cancelled_caller_leaves_the_workers_usable() -> None:
    workers = Workers(1, "test")
    release = threading.Event()

    async def main() -> str:
        slow = asyncio.create_task(workers.run(lambda: release.wait(5)))
        await asyncio.sleep(0.05)
        slow.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await slow
        return await workers.run(lambda: "still working")

    assert asyncio.run(main()) == "still working"


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling policy")
def test_workers_run_as_batch_work_and_leave_the_loop_its_core() -> None:
    async def main() -> tuple[int, int, int]:
        return (
            await run_sync(os.sched_getscheduler, 0),
            await run_slow(os.sched_getscheduler, 0),
            os.sched_getscheduler(0),
        )

    short, slow, loop_thread = asyncio.run(main())

    assert short == slow == os.SCHED_BATCH
    assert loop_thread == os.SCHED_OTHER

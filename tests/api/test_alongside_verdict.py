"""`alongside_verdict`: a relay's first step and its hourly-limit verdict, side by side.

The admission here is a stand-in whose verdict the test releases by hand, so each ordering of
"the step ends" and "the verdict arrives" is exercised on purpose, not by timing luck. The real
admission, with PostgreSQL behind it, is covered in test_rate_limit.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from vibecode_api.errors import ApiError
from vibecode_api.rate_limit import alongside_verdict

REFUSAL = ApiError(429, "rate_limited", "100 API calls per hour are used up")


class HeldAdmission:
    """An admission whose verdict is whatever the test sets, whenever it sets it."""

    likely_allowed = True

    def __init__(self) -> None:
        self.decided: asyncio.Future[ApiError | None] = asyncio.get_running_loop().create_future()
        self.finished = asyncio.Event()

    async def verdict(self) -> None:
        refusal = await self.decided
        self.finished.set()
        if refusal is not None:
            raise refusal


def _scope(admission: HeldAdmission) -> dict[str, Any]:
    return {"state": {"admission": admission}}


def test_the_step_runs_in_the_callers_task_so_it_costs_no_extra_loop_turn() -> None:
    async def main() -> None:
        admission = HeldAdmission()
        caller = asyncio.current_task()

        async def step() -> Any:
            admission.decided.set_result(None)
            return asyncio.current_task()

        assert await alongside_verdict(_scope(admission), step) is caller

    asyncio.run(main())


def test_a_refusal_while_the_step_waits_cancels_it_and_is_raised() -> None:
    async def main() -> None:
        admission = HeldAdmission()
        reached, cancelled = asyncio.Event(), asyncio.Event()

        async def step() -> str:
            reached.set()
            try:
                await asyncio.Event().wait()  # an upstream that has not answered yet
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return "answer"

        async def refuse_once_started() -> None:
            await reached.wait()
            admission.decided.set_result(REFUSAL)

        refuser = asyncio.ensure_future(refuse_once_started())
        with pytest.raises(ApiError) as refused:
            await alongside_verdict(_scope(admission), step)
        await refuser
        assert refused.value is REFUSAL
        assert cancelled.is_set()
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]

    asyncio.run(main())


def test_a_refusal_after_the_step_ended_discards_what_it_produced() -> None:
    async def main() -> None:
        admission = HeldAdmission()
        discarded: list[str] = []

        async def step() -> str:
            return "an opened stream"

        async def discard(opened: str) -> None:
            discarded.append(opened)

        asyncio.get_running_loop().call_soon(admission.decided.set_result, REFUSAL)
        with pytest.raises(ApiError):
            await alongside_verdict(_scope(admission), step, discard)
        assert discarded == ["an opened stream"]

    asyncio.run(main())


def test_a_refusal_outranks_the_steps_own_failure() -> None:
    async def main() -> None:
        admission = HeldAdmission()

        async def step() -> str:
            asyncio.get_running_loop().call_soon(admission.decided.set_result, REFUSAL)
            raise RuntimeError("every provider failed")

        with pytest.raises(ApiError) as refused:
            await alongside_verdict(_scope(admission), step)
        assert refused.value is REFUSAL

    asyncio.run(main())


def test_an_admitted_steps_failure_is_the_callers_to_see() -> None:
    async def main() -> None:
        admission = HeldAdmission()

        async def step() -> str:
            admission.decided.set_result(None)
            raise RuntimeError("every provider failed")

        with pytest.raises(RuntimeError, match="every provider failed"):
            await alongside_verdict(_scope(admission), step)

    asyncio.run(main())


def test_a_cancel_from_outside_propagates_and_the_call_still_counts() -> None:
    async def main() -> None:
        admission = HeldAdmission()
        reached = asyncio.Event()

        async def step() -> str:
            reached.set()
            await asyncio.Event().wait()
            return "answer"

        handler = asyncio.ensure_future(alongside_verdict(_scope(admission), step))
        await reached.wait()
        handler.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await handler
        admission.decided.set_result(None)
        await asyncio.wait_for(admission.finished.wait(), 5)  # its task was not cancelled

    asyncio.run(main())


def test_a_user_near_the_limit_gets_the_verdict_before_any_step() -> None:
    async def main() -> None:
        admission = HeldAdmission()
        admission.likely_allowed = False  # type: ignore[misc]
        ran: list[bool] = []

        async def step() -> str:
            ran.append(True)
            return "answer"

        admission.decided.set_result(REFUSAL)
        with pytest.raises(ApiError):
            await alongside_verdict(_scope(admission), step)
        assert ran == []

    asyncio.run(main())

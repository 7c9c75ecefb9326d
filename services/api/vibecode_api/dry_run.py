"""`VIBE_DRY_RUN`: every declared write (`opt={"audit": ...}`) is refused and recorded as an
attempt, reads still answer. Checked by the admission middleware rather than a Litestar guard:
guards cost a copy of the route handler on every request, reads included (`make bench`)."""

from __future__ import annotations

from .audit import Audit
from .context import RequestContext
from .errors import ApiError

DRY_RUN_STATUS = 403


async def refuse_in_dry_run(ctx: RequestContext, audit: Audit) -> None:
    if not ctx.action or not ctx.dry_run:
        return
    await audit.record_alone(ctx, "blocked_dry_run", target=ctx.target)
    raise ApiError(
        DRY_RUN_STATUS,
        "dry_run",
        f"{ctx.action} was not performed: VIBE_DRY_RUN=true blocks every write; "
        "unset it to allow writes",
    )

"""Console sessions: `loading → starting → ready | error`, and `stopped`, kept in the database.

The manager owns the life of a session around a `Provisioner`: start (idempotent; the
concurrent-session quota checked under the user's lock), bring-up in the background until ready
or the start timeout, status refreshed from the provisioner, stop, an idle sweep that stops
sessions with neither API traffic nor code-server heartbeat for `VIBE_SESSION_IDLE_TIMEOUT`
(storage is kept), and a reconcile at start for sessions an earlier process left behind.
"""

from __future__ import annotations

import time
from typing import Any, cast

import anyio
import anyio.abc
from psycopg.types.json import Jsonb

from .audit import Audit
from .context import RequestContext
from .db import Database
from .identity import Identity
from .logs import get_logger
from .provisioners import Handle, Probe, Provisioner, ProvisionError, SessionState, WorkspaceRef
from .quotas import ACTIVE_SESSION_STATES, Quotas, lock_user
from .views import SessionView

log = get_logger(__name__)

START, STOP = "session.start", "session.stop"
"""The audit actions of a session's start and stop (routes declare them in their `opt`)."""
POLL_SECONDS = 0.1
TOUCH_EVERY_SECONDS = 5


def view(row: dict[str, Any] | None, provisioner: Provisioner) -> SessionView:
    if row is None:
        return {"status": SessionState.stopped.value}
    out: SessionView = {
        "status": row["state"],
        "workspaceId": row["workspace_id"],
        "provisioner": row["provisioner"],
        "startedAt": row["started_at"].isoformat(),
        "lastActivity": row["last_activity"].isoformat(),
    }
    if row["state"] == SessionState.ready:
        out["url"] = row["url"]
        out.update(cast(SessionView, provisioner.public(row["handle"])))
    if row["error"]:
        out["error"] = row["error"]
    if row["stop_reason"]:
        out["reason"] = row["stop_reason"]
    return out


class SessionManager:
    def __init__(
        self,
        db: Database,
        provisioner: Provisioner,
        quotas: Quotas,
        audit: Audit,
        *,
        idle_timeout: float,
        start_timeout: float,
        reap_interval: float,
    ) -> None:
        self.db = db
        self.provisioner = provisioner
        self.quotas = quotas
        self.audit = audit
        self.idle_timeout = idle_timeout
        self.start_timeout = start_timeout
        self.reap_interval = reap_interval
        self._tg: anyio.abc.TaskGroup | None = None
        self._reconciled = anyio.Event()

    # -- lifecycle of the manager itself ----------------------------------------------------------
    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Reconcile, then sweep idle sessions until cancelled; hosts bring-up tasks."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            await self.db.wait_schema()
            try:
                await self.reconcile()
            finally:  # settled or failed: requests stop waiting for it either way
                self._reconciled.set()
            task_status.started()
            while True:
                await anyio.sleep(self.reap_interval)
                try:
                    await self.reap_idle()
                except Exception as err:  # a sweep must never take the manager down
                    log.warning("session_sweep_failed", error=type(err).__name__)

    async def stop_all(self, reason: str) -> None:
        """Stop every active session this provisioner runs (local sessions die with the API)."""
        async with self.db.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT * FROM sessions WHERE provisioner = %s AND state = ANY(%s)",
                    (self.provisioner.name, list(ACTIVE_SESSION_STATES)),
                )
            ).fetchall()
        for row in rows:
            await self._stop_row(row, reason)

    async def active_count(self) -> int:
        """Sessions loading, starting or ready, platform-wide: the autoscaler's signal."""
        async with self.db.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT count(*) AS n FROM sessions WHERE state = ANY(%s)",
                    (list(ACTIVE_SESSION_STATES),),
                )
            ).fetchone()
        return int(row["n"]) if row else 0

    # -- operations -----------------------------------------------------------------------------
    async def _after_reconcile(self) -> None:
        """Rows an earlier process left behind are settled by reconcile() at start; a request
        arriving meanwhile waits for it instead of judging such a row itself (it would call a
        session lost in a restart an error, or hand out its dead URL). Only while the database
        is up: otherwise the query that follows answers 503 at once."""
        if not self._reconciled.is_set() and self.db.schema_ready:
            await self._reconciled.wait()

    async def start(self, ctx: RequestContext, identity: Identity, ws: WorkspaceRef) -> SessionView:
        await self._after_reconcile()
        async with self.quotas.transaction(ctx) as conn:
            await lock_user(conn, identity.user)
            row = await self._row(conn, ws.id, lock=True)
            if row is not None and row["state"] in ACTIVE_SESSION_STATES:
                return view(row, self.provisioner)
            await self.quotas.require(conn, identity, {"concurrentSessions": 1})
            row = await (
                await conn.execute(
                    "INSERT INTO sessions (workspace_id, user_id, namespace, state, provisioner)"
                    " VALUES (%s, %s, %s, 'loading', %s)"
                    " ON CONFLICT (workspace_id) DO UPDATE SET state = 'loading', url = NULL,"
                    "  error = NULL, stop_reason = NULL, handle = '{}', provisioner = EXCLUDED.provisioner,"
                    "  started_at = now(), updated_at = now(), last_activity = now()"
                    " RETURNING *",
                    (ws.id, ws.user, ws.namespace, self.provisioner.name),
                )
            ).fetchone()
            await self.audit.record(conn, ctx, "success", action=START, target=ws.id)
        assert self._tg is not None, "the session manager is not running"
        self._tg.start_soon(self._bring_up, ws)
        return view(row, self.provisioner)

    async def status(self, ws: WorkspaceRef) -> SessionView:
        await self._after_reconcile()
        async with self.db.connection() as conn:
            row = await self._row(conn, ws.id)
        if row is not None and row["state"] == SessionState.ready:
            probe = await self.provisioner.probe(ws, row["handle"])
            if probe.state == SessionState.error:
                row = (
                    await self._set(
                        ws.id,
                        SessionState.error,
                        error=probe.error,
                        only_from=(SessionState.ready,),
                    )
                    or row
                )
        return view(row, self.provisioner)

    async def stop(self, ctx: RequestContext, ws: WorkspaceRef, reason: str = "requested") -> bool:
        """Stop the session (audited as `session.stop` whichever route asked: deleting its
        workspace stops it too)."""
        async with self.db.connection() as conn:
            row = await self._row(conn, ws.id)
        if row is None or row["state"] == SessionState.stopped:
            return False
        await self._stop_row(row, reason)
        await self.audit.record_alone(ctx, "success", action=STOP, target=ws.id)
        return True

    async def touch(self, workspace_id: str) -> None:
        """API traffic for a workspace counts as activity (written at most every few seconds)."""
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE sessions SET last_activity = now() WHERE workspace_id = %s"
                " AND state = 'ready' AND last_activity < now() - make_interval(secs => %s)",
                (workspace_id, TOUCH_EVERY_SECONDS),
            )

    async def reap_idle(self) -> list[str]:
        """Stop ready sessions idle longer than the timeout; return their workspace ids."""
        async with self.db.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT *, extract(epoch FROM last_activity) AS active_at FROM sessions"
                    " WHERE provisioner = %s AND state = 'ready'",
                    (self.provisioner.name,),
                )
            ).fetchall()
        stopped = []
        now = time.time()
        for row in rows:
            ws = self._ref(row)
            probe = await self.provisioner.probe(ws, row["handle"])
            if probe.state == SessionState.error:
                await self._set(
                    ws.id, SessionState.error, error=probe.error, only_from=(SessionState.ready,)
                )
                continue
            last = max(float(row["active_at"]), probe.last_heartbeat or 0.0)
            if now - last > self.idle_timeout:
                await self._stop_row(row, "idle")
                log.info("session_idle_stopped", workspace=ws.id, idle_seconds=round(now - last))
                stopped.append(ws.id)
        return stopped

    async def reconcile(self) -> None:
        """Adopt sessions an earlier process left running; close the ones that are gone."""
        async with self.db.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT * FROM sessions WHERE provisioner = %s AND state = ANY(%s)",
                    (self.provisioner.name, list(ACTIVE_SESSION_STATES)),
                )
            ).fetchall()
        for row in rows:
            ws = self._ref(row)
            probe = await self._probe_or_none(ws, row["handle"])
            if probe is not None and probe.state in (SessionState.ready, SessionState.starting):
                log.info("session_adopted", workspace=ws.id, state=probe.state)
                if probe.state == SessionState.starting and self._tg is not None:
                    self._tg.start_soon(self._wait_ready, ws, row["handle"])
            else:
                await self._set(
                    ws.id, SessionState.stopped, stop_reason="lost when the API restarted"
                )
                if row["handle"]:
                    await self.provisioner.stop(ws, row["handle"])
                log.info("session_reconciled_stopped", workspace=ws.id)

    # -- internals ----------------------------------------------------------------------------------
    async def _bring_up(self, ws: WorkspaceRef) -> None:
        try:
            handle = await self.provisioner.start(ws)
        except ProvisionError as err:
            await self._set(
                ws.id, SessionState.error, error=str(err), only_from=(SessionState.loading,)
            )
            return
        except Exception as err:
            log.error("session_start_failed", workspace=ws.id, exc_info=err)
            await self._set(
                ws.id,
                SessionState.error,
                error="the session could not be started",
                only_from=(SessionState.loading,),
            )
            return
        if (
            await self._set(
                ws.id, SessionState.starting, handle=handle, only_from=(SessionState.loading,)
            )
            is None
        ):
            await self.provisioner.stop(ws, handle)  # stopped while we were starting it
            return
        await self._wait_ready(ws, handle)

    async def _wait_ready(self, ws: WorkspaceRef, handle: Handle) -> None:
        probe = Probe(SessionState.starting)
        with anyio.move_on_after(self.start_timeout):
            while True:
                probe = await self.provisioner.probe(ws, handle)
                if probe.state in (SessionState.ready, SessionState.error):
                    break
                await anyio.sleep(POLL_SECONDS)
        if probe.state == SessionState.ready:
            if (
                await self._set(
                    ws.id, SessionState.ready, url=probe.url, only_from=(SessionState.starting,)
                )
                is None
            ):
                await self.provisioner.stop(ws, handle)
            return
        error = (
            probe.error
            if probe.state == SessionState.error
            else (f"code-server did not become ready within {self.start_timeout:g} s")
        )
        await self._set(ws.id, SessionState.error, error=error, only_from=(SessionState.starting,))
        await self.provisioner.stop(ws, handle)

    async def _stop_row(self, row: dict[str, Any], reason: str) -> None:
        ws = self._ref(row)
        await self._set(ws.id, SessionState.stopped, stop_reason=reason)
        if row["handle"]:
            await self.provisioner.stop(ws, row["handle"])

    async def _probe_or_none(self, ws: WorkspaceRef, handle: Handle) -> Probe | None:
        if not handle:
            return None
        try:
            return await self.provisioner.probe(ws, handle)
        except Exception:
            return None

    async def _row(
        self, conn: Any, workspace_id: str, *, lock: bool = False
    ) -> dict[str, Any] | None:
        sql = "SELECT * FROM sessions WHERE workspace_id = %s" + (" FOR UPDATE" if lock else "")
        row: dict[str, Any] | None = await (await conn.execute(sql, (workspace_id,))).fetchone()
        return row

    async def _set(
        self,
        workspace_id: str,
        state: SessionState,
        *,
        only_from: tuple[SessionState, ...] = (),
        url: str | None = None,
        error: str | None = None,
        stop_reason: str | None = None,
        handle: Handle | None = None,
    ) -> dict[str, Any] | None:
        """Move a session to `state` (only from the given states); the row, or None if not."""
        sql = (
            "UPDATE sessions SET state = %s, url = %s, error = %s, stop_reason = %s,"
            " handle = coalesce(%s, handle), updated_at = now()"
            + (", last_activity = now()" if state == SessionState.ready else "")
            + " WHERE workspace_id = %s"
            + (" AND state = ANY(%s)" if only_from else "")
            + " RETURNING *"
        )
        params: list[Any] = [
            state,
            url,
            error,
            stop_reason,
            Jsonb(handle) if handle is not None else None,
            workspace_id,
        ]
        if only_from:
            params.append(list(only_from))
        async with self.db.connection() as conn:
            row: dict[str, Any] | None = await (await conn.execute(sql, params)).fetchone()
        return row

    @staticmethod
    def _ref(row: dict[str, Any]) -> WorkspaceRef:
        return WorkspaceRef(id=row["workspace_id"], user=row["user_id"], namespace=row["namespace"])

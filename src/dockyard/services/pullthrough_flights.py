"""Single flight for the pull-through cache: one fetch from the upstream however many
clients, processes and nodes ask for the same thing at once.

A flight is a row of the database (``metadata/cache_data.py``), claimed by one conditional
write: the winner runs the work in a task of its own (so a client that goes away does not
stop what others wait for), renewing its lease while it runs; everyone else follows the row
until it lands, and takes the flight over if its lease runs out (its node died). Followers
in the owner's own process are woken by an event instead of reading the row.

A blob's flight also says how many of its bytes its upload holds (``progress``), so that a
follower anywhere streams them as they arrive rather than waiting for the whole blob
(``follow_bytes``); once the blob is committed the rest comes from the blob itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dockyard.domain.errors import BlobUploadInvalid, BlobUploadUnknown, DockyardError
from dockyard.metadata.cache_data import DONE, FAILED, RUNNING, CacheDataStore, FlightRow
from dockyard.services.threads import blocking

__all__ = ["Flight", "FlightFailed", "Flights", "LostFlight", "Work"]

log = logging.getLogger(__name__)

# How often a follower in another process reads the flight's row.
POLL_SECONDS = 0.1


class FlightFailed(Exception):
    """The flight followed ended without its result; ``cause`` is the owner's exception
    when it ran in this process, else ``kind`` (its class name) and ``said`` tell it."""

    def __init__(self, name: str, error: str, cause: BaseException | None = None) -> None:
        super().__init__(f"{name}: {error}")
        self.kind, _, self.said = error.partition(": ")
        self.cause = cause


class LostFlight(Exception):
    """The owner's lease ran out and another took the flight over: stop working on it."""


@dataclass(slots=True)
class Flight:
    """The owner's handle on a flight it runs."""

    name: str
    owner: str
    _flights: Flights
    upload_id: str | None = None
    progress: int = 0
    state: str = RUNNING
    error: str | None = None
    cause: BaseException | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def advance(self, upload_id: str, progress: int) -> None:
        """Bytes ``[0, progress)`` of the blob are in ``upload_id``: tell the followers."""
        still_mine = await blocking(
            self._flights.store.advance,
            self.name,
            self.owner,
            self._flights.lease,
            progress,
            upload_id,
        )
        if not still_mine:
            raise LostFlight(self.name)
        self.upload_id, self.progress = upload_id, progress
        self._notify()

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def row(self) -> FlightRow:
        expires = datetime.max.replace(tzinfo=UTC)  # the owner is alive: it is this process
        return FlightRow(
            self.name, self.owner, self.state, self.upload_id, self.progress, self.error, expires
        )


Work = Callable[[Flight], Awaitable[None]]


class Flights:
    def __init__(self, store: CacheDataStore, lease: timedelta) -> None:
        self.store = store
        self.lease = lease
        self._mine: dict[str, Flight] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def ensure(self, name: str, work: Work, *, again: bool = False) -> None:
        """Return once the flight ``name`` has landed done, running ``work`` here when
        nobody runs it; FlightFailed when it failed. ``again``: a flight that landed
        before is run once more (what it fetched may have changed or gone since)."""
        retake = again
        while True:
            row = await self._start(name, work, retake)
            retake = False
            if row.state == RUNNING:
                row = await self._wait(name)
            if row.state == DONE:
                return
            if row.state == FAILED:
                raise self._failure(row)
            # Its owner died: try to take it over.

    async def follow_bytes(
        self,
        name: str,
        work: Work,
        read_upload: Callable[[str, int, int], AsyncIterator[bytes]],
        read_blob: Callable[[int], AsyncIterator[bytes]],
    ) -> AsyncIterator[bytes]:
        """The bytes of the blob flight ``name`` as they arrive (started here when nobody
        runs it): from its upload while it is written, from the blob once committed."""
        sent = 0
        row = await self._start(name, work, retake_done=True)
        while True:
            if row.state == DONE:
                async for chunk in read_blob(sent):
                    yield chunk
                return
            if row.state == FAILED:
                raise self._failure(row)
            if row.state == RUNNING and row.upload_id and row.progress > sent:
                try:
                    async for chunk in read_upload(row.upload_id, row.progress, sent):
                        sent += len(chunk)
                        yield chunk
                except (BlobUploadUnknown, BlobUploadInvalid):
                    pass  # the upload ended (committed, or restarted by a new owner): look again
            elif row.expires_at < datetime.now(UTC):
                # Its owner died: take it over; what was sent is the same bytes again.
                row = await self._start(name, work, retake_done=False)
                continue
            else:
                await self._changed(name)
            row = await self._row(name)

    async def run_unless_running(self, name: str, work: Work) -> None:
        """Run the flight here if nobody runs it; return at once otherwise."""
        row = await self._start(name, work, retake_done=True)
        mine = self._mine.get(name)
        if mine is not None and mine.owner == row.owner:
            await self._wait(name)

    def spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` in the background, its failure logged (the imports)."""
        task = asyncio.ensure_future(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- internals ---------------------------------------------------------------------
    async def _start(self, name: str, work: Work, retake_done: bool) -> FlightRow:
        """The flight's row, after claiming it (and starting ``work``) if nobody runs it."""
        mine = self._mine.get(name)
        if mine is not None:
            return mine.row()
        owner = uuid.uuid4().hex
        row = await blocking(self.store.claim, name, owner, self.lease, retake_done)
        if row.owner != owner or row.state != RUNNING:
            return row
        flight = Flight(name, owner, self)
        self._mine[name] = flight
        task = asyncio.ensure_future(self._run(flight, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return flight.row()

    async def _run(self, flight: Flight, work: Work) -> None:
        renewing = asyncio.ensure_future(self._renew(flight))
        try:
            await work(flight)
            flight.state = DONE
            _CAUSES.pop(flight.name, None)
        except LostFlight:
            flight.state, flight.error = FAILED, _TAKEN_OVER
        except BaseException as exc:
            flight.state, flight.error, flight.cause = FAILED, _text(exc), exc
            _CAUSES[flight.name] = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            renewing.cancel()
            with contextlib.suppress(BaseException):
                await renewing
            with contextlib.suppress(Exception):
                if flight.error != _TAKEN_OVER:
                    await blocking(self.store.land, flight.name, flight.owner, flight.error)
            self._mine.pop(flight.name, None)
            flight._notify()

    async def _renew(self, flight: Flight) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            with contextlib.suppress(Exception):
                await blocking(
                    self.store.advance,
                    flight.name,
                    flight.owner,
                    self.lease,
                    flight.progress,
                    flight.upload_id,
                )

    async def _row(self, name: str) -> FlightRow:
        mine = self._mine.get(name)
        if mine is not None:
            return mine.row()
        row = await blocking(self.store.flight, name)
        if row is None:  # forgotten since: it had ended
            return FlightRow(
                name, "", FAILED, None, 0, "the fetch was forgotten", datetime.now(UTC)
            )
        return row

    async def _wait(self, name: str) -> FlightRow:
        while True:
            row = await self._row(name)
            if row.state != RUNNING or row.expires_at < datetime.now(UTC):
                return row
            await self._changed(name)

    async def _changed(self, name: str) -> None:
        mine = self._mine.get(name)
        if mine is None:
            await asyncio.sleep(POLL_SECONDS)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(mine.changed.wait(), 1.0)

    def _failure(self, row: FlightRow) -> FlightFailed:
        return FlightFailed(row.name, row.error or "failed", _CAUSES.get(row.name))


# The last failure of each flight run in this process, so that a follower here re-raises
# the owner's own error (an UpstreamUnavailable, say) rather than its text.
_CAUSES: dict[str, BaseException] = {}


_TAKEN_OVER = "Lost: taken over by another node"


def _text(exc: BaseException) -> str:
    """``<error class>: <what it says>``: followers in other processes know the kind."""
    said = exc.describe() if isinstance(exc, DockyardError) else str(exc)
    return f"{type(exc).__name__}: {said or 'failed'}"


async def _logged(work: Awaitable[None]) -> None:
    try:
        await work
    except Exception as exc:
        log.warning("pull-through cache: background import failed: %s", _text(exc))

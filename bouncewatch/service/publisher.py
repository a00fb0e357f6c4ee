"""When the outputs are published: only when the blocked set changed, and at most once per
`[blocklist] min_interval_seconds`.

A Publisher remembers, per database, the blocked-set generation it last published (the
database's triggers bump it whenever an address is blocked or unblocked; see
store/blocklist_index.py) and the outputs it published then. Something is due when that
generation moved, the outputs changed (config), an output file is missing or an output's
command failed last time; otherwise nothing is rendered at all.

- `publish()`: now, whatever the state (a manual block or unblock);
- `publish_if_changed()`: now, when due (`run_cycle` outside the daemon, `poll` at its end);
- `request()`: the daemon after each cycle: when due, now if the last publish is
  `min_interval_seconds` old, else once that interval is over (a timer thread), so changes
  from many cycles, and many mailboxes, are written together;
- `flush()`: what is due, now, and no timer left (the daemon stopping).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from .. import store
from ..config import Settings
from ..publish.files import ShrinkRefused
from ..publish.outputs import OutputSpec, configured_outputs, is_pending, publish_all
from ..store import blocklist_index

log = structlog.get_logger("bouncewatch.publisher")

TimerFactory = Callable[[float, Callable[[], None]], Any]  # threading.Timer's shape


def _daemon_timer(delay: float, function: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(delay, function)
    timer.daemon = True  # a process exiting never waits for it (flush() publishes first)
    timer.start()
    return timer


class Publisher:
    """Publishes the outputs of one process (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, timer: TimerFactory = _daemon_timer) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self._make_timer = timer
        self._published: tuple[str, int, tuple[OutputSpec, ...]] | None = None  # (database, generation, outputs)
        self._last_at: float | None = None
        self._timer: Any = None
        self._settings: Settings | None = None
        self.last_error = ""  # why the last deferred publish failed; "" once one succeeds

    def due(self, settings: Settings) -> bool:
        """Whether the outputs may differ from what this process last published."""
        specs = tuple(configured_outputs(settings))
        if self._published is None or self._published != (
            settings.database_url, blocklist_index.generation(), specs
        ):
            return True
        return any(is_pending(spec) for spec in specs)

    def _same_outputs(self, settings: Settings) -> bool:
        """The last publish was of this database into these outputs (else the interval starts anew)."""
        return self._published is not None and self._published[0] == settings.database_url and (
            self._published[2] == tuple(configured_outputs(settings))
        )

    def publish(self, settings: Settings, *, force: bool = False) -> bool:
        """Publish every output now; True when a file changed. Raises what publish_all raises."""
        with self._lock:
            self._cancel_timer()
            generation = blocklist_index.generation()  # before reading: a change meanwhile is due next time
            specs = tuple(configured_outputs(settings))
            self._last_at = self._clock()
            changed = publish_all(settings, force=force)
            self._published = (settings.database_url, generation, specs)
            self.last_error = ""
            return changed

    def publish_if_changed(self, settings: Settings) -> bool:
        """Publish now if anything is due; True when a file changed."""
        with self._lock:
            return self.publish(settings) if self.due(settings) else False

    def request(self, settings: Settings) -> bool:
        """Publish what is due now, or once `min_interval_seconds` since the last publish have
        passed; True when it published now."""
        with self._lock:
            self._settings = settings
            if not self.due(settings):
                return False
            wait = 0.0
            if self._last_at is not None and self._same_outputs(settings):
                wait = settings.blocklist.min_interval_seconds - (self._clock() - self._last_at)
            if wait <= 0:
                self.publish(settings)
                return True
            if self._timer is None:
                self._timer = self._make_timer(wait, self._deferred)
            return False

    def flush(self, settings: Settings | None = None) -> bool:
        """Publish now what is due (the last change before the daemon stops); True if it did."""
        with self._lock:
            self._cancel_timer()
            settings = settings or self._settings
            if settings is None or not self.due(settings):
                return False
            self.publish(settings)
            return True

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _deferred(self) -> None:
        """The timer's publish, on its own thread (and database connection, closed after)."""
        try:
            with self._lock:
                self._timer = None
                if self._settings is not None and self.due(self._settings):
                    self.publish(self._settings)
        except (ShrinkRefused, OSError, *store.DATABASE_FAULTS) as exc:
            self.last_error = str(exc)[:500]
            log.error("publish_failed", error=self.last_error, error_type=type(exc).__name__)
        finally:
            db = store.database_proxy.obj
            if db is not None:
                try:
                    db.close()
                except store.DATABASE_FAULTS:
                    pass


PUBLISHER = Publisher()  # this process's: the daemon's workers, poll, manual actions

"""The sandbox that BPMN scripts, conditions and timer expressions run in: RestrictedPython code
(restricted.py) run in a child process of this server process (sandbox_child.py), so that its limits
hold whatever the code does.

In the child, the trace function gives the clean time limit, the address space is capped
(MEMORY_LIMIT) and a CPU-time limit is set per request just above the time limit. Here, each request
has a wall clock (the time limit and GRACE): a C call on data-sized input that outlasts it
(``[0] * n``, a huge power of a power) gets the child killed and restarted, and the caller a
ScriptTimeout. Helpers are trusted functions of the server (they close over the holidays): the child
calls them back here, with plain values, while the request waits. Only the names the code uses are
sent, not the whole task data.
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.engine import restricted, sandbox_child
from service.engine.restricted import (
    FORBIDDEN_NAMES,
    MAX_CONSTANT_POWER,
    MAX_CONSTANT_REPEAT,
    MAX_RANGE,
    SLOW_MATH,
    UNCATCHABLE,
    ScriptRejected,
    ScriptResourceLimit,
    ScriptStopped,
    ScriptTimeout,
    check,
)
from service.engine.sandbox_child import MEMORY_LIMIT

__all__ = ["FORBIDDEN_NAMES", "MAX_CONSTANT_POWER", "MAX_CONSTANT_REPEAT", "MAX_RANGE", "MEMORY_LIMIT", "SLOW_MATH",
           "UNCATCHABLE", "Sandbox", "ScriptRejected", "ScriptResourceLimit", "ScriptStopped", "ScriptTimeout",
           "check"]

GRACE = 1.0  # seconds past the time limit for sending data and answers before the child is killed
START_TIMEOUT = 30.0  # a child that is not ready by then will not be
MAX_ANSWER = 64 * 2**20  # bytes of one message from the child: more task data than any plan holds
_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds service/


@dataclass
class Sandbox:
    """Runs restricted code against a data mapping with a few trusted helper functions."""

    helpers: dict[str, Any]
    time_limit: float = 1.0

    def evaluate(self, expression: str, data: dict[str, Any]) -> Any:
        expression = expression.strip()
        restricted.compiled(expression, "eval")  # refused here, with its reasons, before anything is sent
        return CHILD.run("eval", expression, self.time_limit, self.helpers, data)

    def execute(self, script: str, data: dict[str, Any]) -> None:
        """Run a script; the names it binds or changes (not helpers, not functions) become task data."""
        restricted.compiled(script, "exec")
        changed = CHILD.run("exec", script, self.time_limit, self.helpers, data)
        data.update((name, value) for name, value in changed.items() if name not in self.helpers)


class _Process:
    """One child process and the server's end of the socket it listens on."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.popen = subprocess.Popen(
                [sys.executable, "-I", "-c", sandbox_child.BOOT, str(_ROOT), str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True)  # a Ctrl-C in the server's terminal is for the server
        finally:
            theirs.close()
        self.channel = sandbox_child.Channel(ours)
        try:
            ready = self.receive(time.monotonic() + START_TIMEOUT)
        except (OSError, EOFError, pickle.UnpicklingError, sandbox_child.MessageTooLong):
            ready = None
        if ready != ("ready",):
            self.kill()
            raise RuntimeError("the sandbox process did not start")

    @property
    def pid(self) -> int:
        return self.popen.pid

    def send(self, message: tuple, deadline: float) -> None:
        self.channel.send(pickle.dumps(message, sandbox_child.PROTOCOL), deadline)

    def receive(self, deadline: float) -> Any:
        return sandbox_child.plain_loads(self.channel.receive(deadline, MAX_ANSWER))

    def stop(self) -> None:
        """Close our end: the child reads the end of its input and leaves."""
        self.channel.close()
        try:
            self.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        self.channel.close()
        self.popen.kill()
        self.popen.wait()


class _Child:
    """The child process of this server process: started when first needed and again after it
    died or was killed; one request at a time; a process forked from this one starts its own."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: _Process | None = None
        self.owner = os.getpid()
        self.inherited: list[subprocess.Popen] = []  # a parent's children, not ours to wait for

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def run(self, mode: str, source: str, time_limit: float, helpers: dict[str, Any], data: dict[str, Any]) -> Any:
        names = sorted(restricted.names_in(source, mode))
        values = {name: _pickled(name, data[name]) for name in names if name in data}
        wanted = tuple(name for name in names if name in helpers and name not in values)
        with self.lock:
            if self.owner != os.getpid():
                self.forget()
            return _Request(self, helpers, time_limit).run(("run", mode, source, time_limit, wanted, values))

    def ready(self) -> _Process:
        if self.process is not None and self.process.popen.poll() is not None:
            self.drop(self.process)
        if self.process is None:
            self.process = _Process()
        return self.process

    def drop(self, process: _Process) -> None:
        process.kill()
        if self.process is process:
            self.process = None

    def forget(self) -> None:
        """In a forked process: the child and the lock belong to the parent."""
        self.lock = threading.Lock()
        self.owner = os.getpid()
        if self.process is not None:
            self.process.channel.close()  # our copy only: the parent's child stays connected
            self.inherited.append(self.process.popen)
            self.process = None

    def received_last(self) -> tuple[str, ...]:
        """The names of task data the child received for the last request (for tests)."""
        with self.lock:
            process = self.ready()
            deadline = time.monotonic() + START_TIMEOUT
            process.send(("received",), deadline)
            return process.receive(deadline)[1]

    def stop(self) -> None:
        """At exit: end the child (a request still running in another thread gets a second first)."""
        if self.owner != os.getpid():
            return
        locked = self.lock.acquire(timeout=1)
        try:
            process, self.process = self.process, None
            if process is not None:
                process.stop()
        finally:
            if locked:
                self.lock.release()


class _Request:
    """One evaluation in the child: the wall clock it must meet and the helpers it may call back."""

    def __init__(self, child: _Child, helpers: dict[str, Any], time_limit: float):
        self.child = child
        self.helpers = helpers
        self.time_limit = time_limit
        self.deadline = 0.0
        self.heard = False  # whether the child said anything about this request yet
        self.helper_errors: list[Exception] = []

    def run(self, request: tuple) -> Any:
        error: Exception | None = None
        for _ in range(2):
            process = self.child.ready()
            self.deadline = time.monotonic() + self.time_limit + GRACE
            self.heard = False
            try:
                answer = self._exchange(process, request)
            except _Gone as gone:
                self.child.drop(process)
                error = gone.error
                continue
            except BaseException:
                self.child.drop(process)  # it is halfway through the request: only a new child takes the next
                raise
            return self._result(process, answer)
        assert error is not None
        raise error

    def _exchange(self, process: _Process, request: tuple) -> tuple:
        """Send the request and serve the helper calls: the child's last answer."""
        try:
            process.send(request, self.deadline)
        except TimeoutError:
            raise ScriptTimeout(f"script ran longer than {self.time_limit} s") from None
        except OSError:  # it died while it waited for work
            raise _Gone(self._ended(process)) from None
        answer = self._next(process)
        while answer[0] == "call":
            self._call(process, *answer[1:])
            answer = self._next(process)
        return answer

    def _next(self, process: _Process) -> tuple:
        """The child's next message; past the wall clock the caller gets ScriptTimeout."""
        try:
            answer = process.receive(self.deadline)
        except TimeoutError:
            raise ScriptTimeout(f"script ran longer than {self.time_limit} s") from None
        except (EOFError, OSError):
            error = self._ended(process)
            # killed before it said anything: perhaps while it waited for work, so a new child tries once
            raise (_Gone(error) if not self.heard and isinstance(error, ScriptResourceLimit) else error) from None
        except sandbox_child.MessageTooLong as err:
            raise ScriptResourceLimit(f"the script's result is larger than allowed ({err}, at most "
                                      f"{MAX_ANSWER // 2**20} MiB)") from None
        except pickle.UnpicklingError as err:
            raise RuntimeError(f"the sandbox process sent what it may not: {err}") from None
        self.heard = True
        return answer

    def _call(self, process: _Process, name: str, args: tuple, kwargs: dict) -> None:
        """Run the helper the child asked for, here, under what is left of the time limit."""
        helper = self.helpers[name]
        try:
            value = restricted.run(lambda: helper(*args, **kwargs), self.deadline - GRACE - time.monotonic(),
                                   everywhere=True)
            answer: tuple = ("return", value)
        except ScriptTimeout:
            raise ScriptTimeout(f"script ran longer than {self.time_limit} s") from None
        except ScriptStopped:
            raise
        except Exception as err:  # the script may handle it; if not, the caller gets this very error
            self.helper_errors.append(err)
            answer = ("raise", len(self.helper_errors) - 1, *sandbox_child.described(err))
        try:
            process.send(answer, self.deadline)
        except TimeoutError:
            raise ScriptTimeout(f"script ran longer than {self.time_limit} s") from None
        except OSError:
            raise self._ended(process) from None
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            raise TypeError(f"the helper {name} gave a value the sandbox cannot receive: {err}") from None

    def _result(self, process: _Process, answer: tuple) -> Any:
        kind = answer[0]
        if kind == "done":
            return answer[1]
        if kind == "error":
            _, error_kind, args, text, index = answer
            if index is not None:
                raise self.helper_errors[index]
            raise sandbox_child.rebuilt(error_kind, args, text)
        if kind == "memory":
            self.child.drop(process)  # a fresh child rather than one whose heap grew to the cap
            raise ScriptResourceLimit(f"script used more memory than allowed ({MEMORY_LIMIT // 2**20} MiB)")
        if kind == "timeout":
            raise ScriptTimeout(answer[1])
        if kind == "stopped":
            raise ScriptStopped(answer[1])
        if kind == "rejected":
            raise ScriptRejected(answer[1])
        self.child.drop(process)
        raise RuntimeError(f"the sandbox process answered {kind!r}")

    def _ended(self, process: _Process) -> Exception:
        """The error for a child that ended while it ran the script: the kernel stopped it."""
        try:
            code = process.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        if code == -signal.SIGXCPU:
            return ScriptTimeout("script used more CPU time than allowed")
        how = signal.strsignal(-code) if code is not None and code < 0 else f"exit status {code}"
        return ScriptResourceLimit(f"the sandbox process ended while it ran the script ({how}): "
                                   "the script may have used more memory than allowed")


class _Gone(Exception):
    """The child died before it said anything about the request: perhaps before it read it."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def _pickled(name: str, value: Any) -> bytes:
    try:
        return pickle.dumps(value, sandbox_child.PROTOCOL)
    except Exception as err:
        raise TypeError(f"{name} holds a {type(value).__name__}, which the sandbox cannot receive") from err


CHILD = _Child()
os.register_at_fork(after_in_child=CHILD.forget)
atexit.register(CHILD.stop)

"""The sandbox's child process: it runs designer code for one server process, under a memory cap
and a CPU-time backstop, and talks to the server over one socket in pickled messages.

The server sends ``("run", mode, source, time_limit, helper names, {name: pickled value})``; the
child answers with any number of ``("call", helper, args, kwargs)`` (each answered ``("return",
value)`` or ``("raise", index, kind, args, text)``), then one final answer: ``("done", value)``,
``("error", kind, args, text, index of a helper's error or None)``, ``("timeout", text)``,
``("stopped", text)``, ``("rejected", problems)`` or ``("memory",)``. ``("received",)`` asks for
the names of task data the last request brought (for tests). What the child sends holds plain
values only (see ``plain_dumps``), and the server reads it with ``plain_loads``: code that escaped
RestrictedPython still could not make the server run anything.

The server starts it with ``BOOT``: the child loads this module and restricted.py without
service/engine/__init__.py, so SpiffWorkflow and the rest of the server never enter it.
"""

from __future__ import annotations

import builtins
import datetime
import io
import math
import pickle
import resource
import socket
import struct
import time
from typing import Any

from service.engine import restricted

MEMORY_LIMIT = 512 * 2**20  # address space; the child at rest maps under 20 MiB
CPU_GRACE = 1  # seconds of CPU time past the time limit before the kernel stops the child
PROTOCOL = 5
#: ``python -I -c BOOT <folder holding service/> <socket fd>``: stand-in packages for service and
#: service.engine, so that importing this module runs no __init__.py
BOOT = """\
import sys, types
for name in ("service", "service.engine"):
    package = types.ModuleType(name)
    package.__path__ = [sys.argv[1] + "/" + name.replace(".", "/")]
    sys.modules[name] = package
from service.engine import sandbox_child
sandbox_child.main(int(sys.argv[2]))
"""
#: the classes a plain value may hold besides the ones pickle writes without naming a class
_PLAIN_CLASSES = {datetime.date, datetime.datetime, datetime.time, datetime.timedelta, datetime.timezone}
_PLAIN_NAMES = {("datetime", c.__name__) for c in _PLAIN_CLASSES}
_SCALARS = (str, int, float, bool, type(None))
_LENGTH = struct.Struct("!I")
_cpu_limit = 0  # the soft RLIMIT_CPU this child set last


class MessageTooLong(Exception):
    """A message longer than its reader accepts."""


class Channel:
    """Messages over a stream socket, each behind its length; with a deadline, reading or writing
    past it raises TimeoutError."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def send(self, data: bytes, deadline: float | None = None) -> None:
        self._timeout(deadline)
        if len(data) < 2**16:
            self.sock.sendall(_LENGTH.pack(len(data)) + data)
        else:  # no copy of a large message
            self.sock.sendall(_LENGTH.pack(len(data)))
            self.sock.sendall(data)

    def receive(self, deadline: float | None = None, limit: int | None = None) -> bytearray:
        """The next message; EOFError when the other end closed."""
        (length,) = _LENGTH.unpack(self._exactly(_LENGTH.size, deadline))
        if limit is not None and length > limit:
            raise MessageTooLong(f"{length:,} bytes")
        return self._exactly(length, deadline)

    def close(self) -> None:
        self.sock.close()

    def _exactly(self, size: int, deadline: float | None) -> bytearray:
        buffer = bytearray(size)
        view = memoryview(buffer)
        done = 0
        while done < size:
            self._timeout(deadline)
            count = self.sock.recv_into(view[done:])
            if not count:
                raise EOFError
            done += count
        return buffer

    def _timeout(self, deadline: float | None) -> None:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)


class NotPlain(pickle.PicklingError):
    """A value that is not text, a number, true/false, a date or a list, set or mapping of them."""


class _PlainPickler(pickle.Pickler):
    def reducer_override(self, obj):
        # never called for None, bools and exact str, int, float, bytes, list, tuple, dict, set, frozenset
        if type(obj) in _PLAIN_CLASSES:
            return NotImplemented
        raise NotPlain(f"a {type(obj).__name__}")


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _PLAIN_NAMES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} may not come out of the sandbox")


def plain_dumps(value: Any) -> bytes:
    """``value`` pickled; raises NotPlain when it holds anything but plain values."""
    buffer = io.BytesIO()
    _PlainPickler(buffer, PROTOCOL).dump(value)
    return buffer.getvalue()


def plain_loads(data: bytes | bytearray) -> Any:
    """What ``plain_dumps`` made, refusing every class outside the plain ones."""
    return _PlainUnpickler(io.BytesIO(data)).load()


def rebuilt(kind: str, args: tuple, text: str) -> Exception:
    """An error of a builtin kind again from its name and arguments (anything else: a RuntimeError)."""
    cls = getattr(builtins, kind, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(*args)
        except Exception:  # a kind whose arguments are not its message (UnicodeDecodeError ...)
            pass
    return RuntimeError(f"{kind}: {text}")


def described(err: BaseException) -> tuple[str, tuple, str]:
    """An error as (kind, arguments if plain, text): what ``rebuilt`` needs."""
    args = err.args if all(isinstance(a, _SCALARS) for a in err.args) else (str(err),)
    return type(err).__name__, args, str(err)


# --- The child ---------------------------------------------------------------------------------
def main(fd: int) -> None:
    """Serve the server process on socket ``fd`` until it closes its end."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a CPU-time kill must not write a core file
    channel = Channel(socket.socket(fileno=fd))
    channel.send(plain_dumps(("ready",)))
    received: tuple[str, ...] = ()
    while True:
        try:
            request = pickle.loads(channel.receive())
        except EOFError:
            return  # the server process closed its end or ended
        if request[0] == "received":
            channel.send(plain_dumps(("received", received)))
            continue
        received = tuple(request[5])
        channel.send(_answer(channel, *request[1:]))


def _answer(channel: Channel, mode: str, source: str, time_limit: float, helpers: tuple[str, ...],
            values: dict[str, bytes]) -> bytes:
    raised: dict[int, tuple[BaseException, int]] = {}
    try:
        data = {name: pickle.loads(blob) for name, blob in values.items()}
        env = restricted.environment({**{name: _helper(channel, name, raised) for name in helpers}, **data})
        _limit_cpu(time_limit)
        if mode == "eval":
            result = restricted.evaluate(source, env, time_limit)
        else:
            restricted.execute(source, env, time_limit)
            result = _bound(env, values, set(helpers))
        try:
            return plain_dumps(("done", result))
        except NotPlain as err:
            raise TypeError(f"the code's result holds {err}, which cannot leave the sandbox: "
                            "use text, numbers, true/false, lists and objects of them") from None
    except MemoryError:
        return _OUT_OF_MEMORY  # made beforehand: the heap may still be full here
    except restricted.ScriptTimeout as err:
        return plain_dumps(("timeout", str(err)))
    except restricted.ScriptStopped as err:
        return plain_dumps(("stopped", str(err)))
    except restricted.ScriptRejected as err:
        return plain_dumps(("rejected", list(err.problems)))
    except Exception as err:
        own = raised.get(id(err))
        return plain_dumps(("error", *described(err), own[1] if own and own[0] is err else None))


_OUT_OF_MEMORY = plain_dumps(("memory",))


def _limit_cpu(time_limit: float) -> None:
    """The kernel's backstop for a C call the trace function cannot stop, should the server's wall
    clock fail to: the CPU time used so far, the time limit and a grace, in whole seconds."""
    global _cpu_limit
    needed = math.ceil(time.process_time() + time_limit) + CPU_GRACE
    if needed != _cpu_limit:  # most requests of an idle child need the limit it has
        resource.setrlimit(resource.RLIMIT_CPU, (needed, resource.RLIM_INFINITY))
        _cpu_limit = needed


def _helper(channel: Channel, name: str, raised: dict[int, tuple[BaseException, int]]):
    """A stand-in for the server's helper ``name``: the call goes to the server and waits for its answer."""

    def call(*args, **kwargs):
        try:
            message = plain_dumps(("call", name, args, kwargs))
        except NotPlain as err:
            raise TypeError(f"{name}() was given {err}: it takes text, numbers, true/false, lists and objects "
                            "of them") from None
        channel.send(message)
        answer = pickle.loads(channel.receive())
        if answer[0] == "return":
            return answer[1]
        _, index, kind, args, text = answer
        error = rebuilt(kind, args, text)
        raised[id(error)] = (error, index)
        raise error

    call.__name__ = call.__qualname__ = name
    return call


def _bound(env: dict[str, Any], received: dict[str, bytes], helpers: set[str]) -> dict[str, Any]:
    """The names a script bound or changed; each must be a value a plan can keep."""
    changed = {}
    for name, value in env.items():
        if name in helpers or name.startswith("_") or callable(value):
            continue
        if name in received and _same(value, received[name]):
            continue
        if not restricted.storable(value):
            raise ValueError(f"the script set {name} to a {type(value).__name__}, which a plan cannot keep: "
                             "use text, numbers, true/false, lists and objects of them")
        changed[name] = value
    return changed


def _same(value: Any, received: bytes) -> bool:
    try:
        return pickle.dumps(value, PROTOCOL) == received
    except Exception:  # a value that no longer pickles has changed
        return False

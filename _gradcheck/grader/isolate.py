"""Student code in a disposable worker process: the grading side of the wire.

The grading process (this module's caller) never imports a student's module. A :class:`Session`
starts :mod:`_gradcheck.grader.worker` in a new session (process group) under resource limits
(:class:`Limits`), has it import the student's module, and hands the checker
:class:`RemoteFunction` objects: callables that send their arguments to the worker (plain arrays and
JSON values, :mod:`_gradcheck.grader.wire`) and return what the student's function returned, with the
arguments updated in place where the call changed them, so that the checker's mutation and purity
checks see what they would see in process. Objects the wire cannot carry stay in the worker
(:class:`_gradcheck.grader.wire.Handle`).

Time and life belong to the grading process: every request waits at most until the deadline of
the layer being checked, then the worker's whole process group is killed; a worker that dies in any
way (a signal, an exit, a closed connection, a malformed reply) raises :class:`WorkerLost`, which the
command line turns into an ERROR row for that layer, and the next layer gets a fresh worker.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _gradcheck.core.state import CheckInterrupted
from _gradcheck.grader import wire

__all__ = ["Limits", "Session", "RemoteFunction", "WorkerLost", "ImportFailed", "WORKER"]

WORKER = Path(__file__).resolve().parent / "worker.py"
_MAP_BYTES = 32 << 20          # output bytes per batched request of the numeric gradient
MAX_REPLY_BYTES = 256 << 20    # array bytes in one reply from a worker
_SIGNAL_MEANING = {
    "SIGSEGV": "a segmentation fault: compiled code (ctypes, an extension) read or wrote memory it does not own",
    "SIGBUS": "a bus error in compiled code",
    "SIGABRT": "aborted, e.g. 'double free or corruption' in compiled code",
    "SIGKILL": "killed: by the student's code itself, another process, or the system running out of memory",
    "SIGXCPU": "the CPU-time limit (--cpu-limit)",
    "SIGXFSZ": "the file-size limit (--file-size-limit): it wrote a file too large",
    "SIGTERM": "terminated",
    "SIGINT": "interrupted",
    "SIGFPE": "a floating-point exception in compiled code",
}


@dataclass(frozen=True)
class Limits:
    """Resource limits of a worker process (0 = none). Defaults no ordinary student file comes near."""

    memory_mb: int = 4096        # address space (RLIMIT_AS)
    cpu_s: int = 600             # CPU seconds over the worker's life (RLIMIT_CPU)
    file_size_mb: int = 64       # largest file it may write (RLIMIT_FSIZE)
    extra_procs: int = 16        # processes/threads it may add to the user's current count (RLIMIT_NPROC)

    def apply(self, tasks: int | None = None) -> None:
        """Set the limits in the calling process (the worker, between fork and exec).

        Parameters
        ----------
        tasks : int or None, optional
            The user's processes and threads counted before the fork: ``RLIMIT_NPROC`` counts them
            all, so the cap is this count plus ``extra_procs``. None sets no process limit.
        """
        def cap(which, value, hard=None):
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(which, (value, value if hard is None else hard))

        cap(resource.RLIMIT_CORE, 0)
        if self.memory_mb:
            cap(resource.RLIMIT_AS, self.memory_mb << 20)
        if self.cpu_s:
            cap(resource.RLIMIT_CPU, self.cpu_s, self.cpu_s + 2)  # SIGXCPU first (named), SIGKILL 2 s later
        if self.file_size_mb:
            cap(resource.RLIMIT_FSIZE, self.file_size_mb << 20)
        if self.extra_procs and tasks is not None:
            cap(resource.RLIMIT_NPROC, tasks + self.extra_procs)


def _user_tasks():
    """Tasks (processes and threads) of this user now, or None where /proc cannot say."""
    uid, n = os.getuid(), 0
    try:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid == uid:
                    n += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    except OSError:
        return None
    return n


class WorkerLost(CheckInterrupted):
    """The worker ran past the deadline or died; ``message(what)`` says so in one line."""

    def __init__(self, reason: str, timed_out: bool = False):
        super().__init__(reason)
        self.reason, self.timed_out = reason, timed_out

    def message(self, what: str) -> str:
        return f"{what} {self.reason}"


class ImportFailed(Exception):
    """The student's module raised while it was imported; ``exc`` rebuilds what it raised."""

    def __init__(self, exc: BaseException):
        super().__init__(str(exc))
        self.exc = exc


class StudentException(Exception):
    """Base of the exceptions rebuilt from the worker's report (named like the student's)."""


def rebuild(info) -> BaseException:
    """An exception that describes like the one the student's code raised in the worker."""
    if not isinstance(info, dict):
        return StudentException("an unreadable error report")
    msg = str(info.get("message", ""))[:2000]
    kind = info.get("kind")
    if kind == "exit":
        code = info.get("code")
        return SystemExit(code if isinstance(code, (int, str)) or code is None else str(code))
    if kind == "notimpl":
        return NotImplementedError(msg)
    name = str(info.get("type", "Exception"))
    name = name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,79}", name) else "Exception"
    return type(name, (StudentException,), {})(msg)


# ---------------------------------------------------------------------------------------------

class Worker:
    """One worker process and its socket; every request bounded by ``deadline``."""

    def __init__(self, limits: Limits, cwd: str, max_bytes: int):
        self.max_bytes = max_bytes
        parent, child = socket.socketpair()
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONDONTWRITEBYTECODE="1")
        # Counted before the fork (between fork and exec the child only sets limits), and only when a
        # process limit is asked for: --max-procs 0 needs no scan of /proc per worker.
        tasks = _user_tasks() if limits.extra_procs else None
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(WORKER), str(child.fileno())], pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, cwd=cwd, env=env,
            start_new_session=True, preexec_fn=functools.partial(limits.apply, tasks))
        child.close()
        self.sock = parent
        self.deadline: float | None = None
        self.seconds: float | None = None
        self.running = "the student's code"

    # -- life and death -------------------------------------------------------------------
    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and what it forked, even after it died
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            self.sock.close()

    def close(self) -> None:
        self.kill()
        with contextlib.suppress(OSError):
            self.log.close()

    def _output_tail(self) -> str:
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - 600))
            text = self.log.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        text = "".join(c if c.isprintable() or c == "\n" else "?" for c in text)  # no terminal control codes
        lines = [ln for ln in text.splitlines() if ln.strip()][-3:]
        return "; its last output: " + " | ".join(ln.strip()[:200] for ln in lines) if lines else ""

    def _death(self, why: str) -> WorkerLost:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        rc = self.proc.poll()
        if rc is None:
            how = f"broke its connection to the grader ({why})"
        elif rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = f"signal {-rc}"
            meaning = _SIGNAL_MEANING.get(name, "")
            how = f"was killed by {name}" + (f" ({meaning})" if meaning else "")
        else:
            how = f"ended with exit status {rc} (os._exit, posix._exit or an exit at interpreter level: " \
                  f"student code must return, not end the program)"
        tail = self._output_tail()
        self.kill()
        return WorkerLost(f"ended the grading worker: while running {self.running}, the process {how}{tail}")

    # -- requests -------------------------------------------------------------------------
    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def _read(self, view):
        self.sock.settimeout(self._remaining())
        return self.sock.recv_into(view)

    def request(self, header: dict, arrays=(), running: str = "the student's code"):
        """Send one request and return the reply ``(header, arrays)``; raise :class:`WorkerLost`."""
        self.running = running
        try:
            self.sock.settimeout(self._remaining())
            wire.send(self.sock, header, arrays)
            reply, out = wire.recv(self._read, self.max_bytes)
        except TimeoutError:
            self.kill()
            raise WorkerLost(f"did not finish within the time limit of {self.seconds:g} s (an endless loop?); "
                             f"raise the limit with --time-limit SECONDS if it is just slow", timed_out=True) from None
        except (EOFError, OSError) as exc:
            raise self._death(f"{type(exc).__name__}: {exc}") from None
        except wire.ProtocolError as exc:
            raise self._death(f"a malformed reply: {exc}") from None
        if not isinstance(reply, dict) or "protocol_error" in reply:
            raise self._death(f"it refused a request: {reply.get('protocol_error') if isinstance(reply, dict) else reply}")
        return reply, out


class Session:
    """One student module graded through workers: a fresh worker whenever the last one is gone.

    Parameters
    ----------
    label : str
        The module as the user named it (for messages).
    target : dict
        ``{"kind": "file" | "package" | "name", "where": path or module name}``.
    student_paths : list of str
        Folders whose files of toolkit names are the student's own (the module's folder, the cwd).
    names : list of str
        The function names to look for in the module.
    toolkit_root, toolkit_modules, toolkit_names, checker_names
        Where the toolkit lives, what the worker loads privately, which top-level names get
        stand-ins, and which of those are the checker (always refused).
    limits : Limits
    refuse : sequence of str
        Top-level modules student code may not import.
    """

    def __init__(self, label, target, student_paths, names, toolkit_root, toolkit_modules, toolkit_names,
                 checker_names, limits: Limits, refuse=(), cwd=None, max_bytes=None):
        self.label, self.target = label, target
        self.hello = {"op": "hello", "target": target, "student_paths": [str(p) for p in student_paths],
                      "names": list(names), "root": str(toolkit_root), "toolkit_modules": list(toolkit_modules),
                      "toolkit_names": list(toolkit_names), "checker_names": list(checker_names),
                      "refuse": list(refuse),
                      # where the grading process would find a module given by name (after the above)
                      "search_path": [p for p in sys.path if p and p != str(toolkit_root)]}
        self.limits = limits
        self.cwd = cwd or os.getcwd()
        # The largest reply accepted (and allocated) from a worker: layer outputs on the checker's small
        # inputs are far smaller, and the numeric gradient's batches are cut at _MAP_BYTES.
        self.max_bytes = max_bytes or MAX_REPLY_BYTES
        self.worker: Worker | None = None
        self.manifest: dict | None = None
        self.replaced: list = []

    def _start(self, seconds) -> Worker:
        w = Worker(self.limits, self.cwd, self.max_bytes)
        w.seconds = seconds
        w.deadline = None if not seconds else time.monotonic() + seconds
        try:
            reply, _ = w.request(self.hello, running=f"the import of {self.label}")
        except WorkerLost:
            w.close()
            raise
        if "raised" in reply:
            w.close()
            raise ImportFailed(rebuild(reply["raised"]))
        manifest = reply.get("manifest")
        if not isinstance(manifest, dict):
            w.close()
            raise WorkerLost("ended the grading worker: it answered the import without a list of functions")
        if self.manifest is None:
            self.manifest = {str(k): v for k, v in manifest.items() if isinstance(v, dict)}
            self.replaced = [str(r) for r in reply.get("replaced", [])][:50]
        return w

    def open(self, seconds) -> dict:
        """Start the first worker and import the module; return the manifest.

        Raises :class:`ImportFailed` (the import raised) or :class:`WorkerLost` (timed out, died).
        """
        self.worker = self._start(seconds)
        return self.manifest

    def begin_job(self, forbid, forbid_modules, seconds) -> None:
        """Set the deadline of the next layer (its every call) and what counts as borrowed code."""
        if self.worker is None or self.worker.proc.poll() is not None:
            if self.worker is not None:
                self.worker.close()
            self.worker = None
            self.worker = self._start(seconds)
        self.worker.seconds = seconds
        self.worker.deadline = None if not seconds else time.monotonic() + seconds
        self.worker.request({"op": "job", "forbid": sorted(forbid), "forbid_modules": sorted(forbid_modules)},
                            running="the start of a layer")

    def end_job(self, lost: bool) -> list:
        """Close the layer; return the toolkit functions the student's code ran in it (allowed ones)."""
        if lost and self.worker is not None:
            self.worker.close()
            self.worker = None
        if self.worker is None:
            return []
        self.worker.seconds, self.worker.deadline = 5.0, time.monotonic() + 5.0
        try:
            reply, _ = self.worker.request({"op": "used"}, running="the end of a layer")
        except WorkerLost:
            self.worker.close()
            self.worker = None
            return []
        used = reply.get("used")
        return [str(u)[:200] for u in used] if isinstance(used, list) else []

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def function(self, name: str, borrowed=None, toolkit_file=None) -> RemoteFunction:
        fn = RemoteFunction(self, name, borrowed=borrowed if isinstance(borrowed, str) else None)
        fn.toolkit_file = toolkit_file if isinstance(toolkit_file, str) else None
        return fn

    # -- calls ----------------------------------------------------------------------------
    def _live(self) -> Worker:
        if self.worker is None:
            raise WorkerLost("ended the grading worker earlier in this layer")
        return self.worker

    def call(self, name, args, rng, of: wire.Handle | None = None, kwargs: dict | None = None):
        """``name(*args, **kwargs)`` in the worker (``of``: a method of that object); the arguments
        updated in place."""
        args = list(args) + ([kwargs] if kwargs else [])
        # The caller's object behind each array, so that ``{"r": k}`` in the reply means that very object
        # (a cache holding ``x`` holds the caller's ``x``).
        origins: list = []
        tree, arrays = wire.encode(args, origins=origins)
        header = {"op": "call", "fn": name, "args": tree, "rng": rng, "kw": bool(kwargs)}
        if of is not None:
            header["of"] = of.id
        reply, out = self._live().request(header, arrays, running=name if of is None else f"{of.type}.{name}")
        if "raised" in reply:
            raise rebuild(reply["raised"])
        if "result" not in reply:
            raise self._live()._death("a reply without a result")
        try:
            result = wire.decode(reply["result"], out, wire.Handle, origins)
            if reply.get("args") is not None:
                after = wire.decode(reply["args"], out, wire.Handle, origins)
                _apply(args, after)
        except wire.ProtocolError as exc:
            raise self._live()._death(f"a malformed reply: {exc}") from None
        return result

    def getattr(self, of: wire.Handle, attr: str):
        """An attribute of an object the worker holds (arrays and JSON values; other objects as handles)."""
        reply, out = self._live().request({"op": "getattr", "of": of.id, "name": attr},
                                          running=f"{of.type}.{attr}")
        if "raised" in reply:
            raise rebuild(reply["raised"])
        try:
            return wire.decode(reply.get("result"), out, wire.Handle)
        except wire.ProtocolError as exc:
            raise self._live()._death(f"a malformed reply: {exc}") from None

    def map_first(self, name, args, k, flat_idx, values, shape, rng):
        """``fn(*args')[0]`` for each variant ``args'`` (``args[k].flat[flat_idx[j]] = values[j]``).

        Returns ``(outs, stop)``: the float64 outputs, one row per variant done, and the index of
        the first variant that needs a single call to see what went wrong (None when all went).
        """
        tree, arrays = wire.encode(list(args))
        size = int(np.prod(shape))
        reply, out = self._live().request(
            {"op": "map", "fn": name, "args": tree, "arg": k, "shape": list(shape), "rng": rng},
            arrays + [np.asarray(flat_idx, np.int64), np.asarray(values, np.float64)], running=name)
        stop = reply.get("stop")
        outs = out[0] if len(out) == 1 else None
        m = len(flat_idx) if stop is None else stop
        if outs is None or type(m) is not int or not 0 <= m <= len(flat_idx) or outs.dtype != np.float64 \
                or outs.shape != (m, size):
            raise self._live()._death("a malformed reply to a batch of forward calls")
        return outs, stop


def _apply(orig, new):
    """Make ``orig`` look like ``new`` (what the worker's call left in the arguments); return it."""
    if new is orig:
        return orig
    if isinstance(orig, np.ndarray) and isinstance(new, np.ndarray):
        try:
            if orig.shape != new.shape and orig.size == new.size:
                orig.shape = new.shape
            if orig.dtype != new.dtype and orig.dtype.itemsize == new.dtype.itemsize:
                orig.dtype = new.dtype
            if orig.shape == new.shape and orig.dtype == new.dtype:
                np.copyto(orig, new)
                return orig
        except (AttributeError, ValueError, TypeError):
            pass
        return new
    if isinstance(orig, dict) and isinstance(new, dict):
        for key in [k for k in orig if k not in new]:
            del orig[key]
        for key, v in new.items():
            orig[key] = _apply(orig.get(key), v)
        return orig
    if isinstance(orig, list) and isinstance(new, list):
        orig[:] = [_apply(orig[i], v) if i < len(orig) else v for i, v in enumerate(new)]
        return orig
    if isinstance(orig, tuple) and isinstance(new, tuple) and len(orig) == len(new):
        for o, v in zip(orig, new):
            _apply(o, v)
        return orig
    return new


class RemoteFunction:
    """A student's function that runs in the worker: ``fn(*args)`` as if it ran here.

    ``rng``: the seed of numpy's global generator state set around every call (a random layer);
    ``borrowed``: where the function came from when it is the toolkit's own, else None.
    """

    toolkit_file = None   # the toolkit's source file its code comes from (loaded by path), if so

    def __init__(self, session: Session, name: str, rng=None, borrowed=None):
        self.session, self.__name__, self.rng, self.borrowed = session, name, rng, borrowed
        self.__qualname__ = name

    def __call__(self, *args):
        return self.session.call(self.__name__, args, self.rng)

    def pinned(self, seed: int) -> RemoteFunction:
        fn = RemoteFunction(self.session, self.__name__, int(seed), self.borrowed)
        fn.toolkit_file = self.toolkit_file
        return fn

    def map_first(self, args, k, flat_idx, values, shape):
        """Batched first outputs for the numeric gradient (see :meth:`Session.map_first`), chunked."""
        per = max(1, _MAP_BYTES // (8 * max(1, int(np.prod(shape)))))
        rows, at = [], 0
        while at < len(flat_idx):
            outs, stop = self.session.map_first(self.__name__, args, k, flat_idx[at:at + per],
                                                values[at:at + per], shape, self.rng)
            rows.append(outs)
            if stop is not None:
                return np.concatenate(rows), at + stop
            at += per
        return (np.concatenate(rows) if rows else np.empty((0, int(np.prod(shape))))), None

    def __repr__(self):
        return f"<student function {self.__name__} (runs in the grading worker)>"

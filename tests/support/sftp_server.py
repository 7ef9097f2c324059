"""A real SFTP server on 127.0.0.1 (asyncssh, in a thread of its own with its own event loop), serving a
temporary folder as its root: the CSV/SFTP feed's tests talk SSH and SFTP to it over a socket, as to a
marketplace's server. Password and public-key logins; a knob makes the next renames fail (a move that fails after
the orders were committed)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncssh


class _Files(asyncssh.SFTPServer):
    server: SftpServer

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        if self.server.failing_renames > 0:
            self.server.failing_renames -= 1
            raise asyncssh.SFTPFailure("rename refused (test)")
        super().rename(oldpath, newpath)


class SftpServer:
    def __init__(self, root: Path, *, username: str, password: str) -> None:
        self.root = root
        self.username = username
        self.password = password
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.failing_renames = 0
        self.logins = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-server", daemon=True)
        self._acceptor: Any = None

    @property
    def public_host_key(self) -> str:
        """The server's key as the connector's `host_key` config takes it (`ssh-ed25519 AAAA…`)."""
        text: str = self.host_key.export_public_key().decode().strip()
        return " ".join(text.split()[:2])

    @property
    def client_private_key(self) -> str:
        text: str = self.client_key.export_private_key("openssh").decode()
        return text

    def start(self) -> None:
        self._thread.start()
        self._acceptor = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        self.port = int(self._acceptor.get_port())

    async def _listen(self) -> Any:
        outer = self

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                ok = username == outer.username and password == outer.password
                outer.logins += int(ok)
                return ok

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                ok = username == outer.username and key.public_data == outer.client_key.public_data
                outer.logins += int(ok)
                return ok

        def files(channel: Any) -> _Files:
            served = _Files(channel, chroot=str(outer.root))
            served.server = outer
            return served

        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            server_factory=Server,
            sftp_factory=files,
            allow_scp=False,
        )

    def stop(self) -> None:
        async def close() -> None:
            self._acceptor.close()
            await self._acceptor.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@contextmanager
def sftp_server(root: Path, *, username: str = "shop", password: str = "s3cret-pw") -> Iterator[SftpServer]:
    server = SftpServer(root, username=username, password=password)
    server.start()
    try:
        yield server
    finally:
        server.stop()

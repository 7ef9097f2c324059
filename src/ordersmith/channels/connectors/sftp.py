"""The generic CSV/SFTP marketplace feed: a marketplace with no API of its own drops order files on an SFTP
server; we poll its inbox folder, read one file a page (`csv_feed` layout), and once the file's orders are
committed move it to the done folder. Out, we write available-to-sell, price and shipment-confirmation files to its
outbox folder (written under a `.part` name and renamed, so the marketplace never reads half a file).

Invariants: the server's host key is pinned in the connector's config (an unknown or changed key is refused for
good, never trusted on first use); no SFTP call runs inside a transaction (the polling framework calls `settle`
after the commit); a file read twice — a move that failed, a re-upload — makes no second order, because the
inbox is unique on the channel's order id; a shipment confirmation has a name of its own, so a retry never writes
a second one.
"""

from __future__ import annotations

import base64
import binascii
import errno
import io
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import paramiko

from ordersmith.channels import rules
from ordersmith.channels.connectors import csv_feed
from ordersmith.channels.connectors.base import (
    Access,
    CallFailed,
    CallReport,
    PollPage,
    PriceUpdate,
    ShipmentNotice,
    SignatureInvalid,
    StockUpdate,
)
from ordersmith.kernel.ids import new_id

KIND = "csv_sftp"
HOST_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)
DEFAULT_FOLDERS = {"inbox_dir": "/orders/inbox", "done_dir": "/orders/done", "outbox_dir": "/outbox"}
ROWS_PER_FILE = 1000
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def host_key(text: str) -> paramiko.PKey:
    """The server's public key from its OpenSSH form (`ssh-ed25519 AAAA…`, as in `ssh-keyscan` output without the
    host name). Raises ValueError when it is not one."""
    parts = text.strip().split()
    if len(parts) < 2 or parts[0] not in HOST_KEY_TYPES:
        raise ValueError(f"an OpenSSH public key: one of {', '.join(HOST_KEY_TYPES)} and its base64 data")
    try:
        return paramiko.PKey.from_type_string(parts[0], base64.b64decode(parts[1], validate=True))
    except (binascii.Error, paramiko.SSHException, ValueError) as exc:
        raise ValueError(f"not a readable {parts[0]} key ({exc})") from None


def private_key(text: str) -> paramiko.PKey:
    """A client key in OpenSSH or PEM form (Ed25519, ECDSA or RSA). Raises ValueError when none reads it."""
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError, IndexError):
            continue
    raise ValueError("not an unencrypted OpenSSH or PEM private key (Ed25519, ECDSA or RSA)")


def folder(access: Access, name: str) -> str:
    return str(access.config.get(name) or DEFAULT_FOLDERS[name]).rstrip("/") or "/"


@contextmanager
def session(access: Access) -> Iterator[paramiko.SFTPClient]:
    """An SFTP session to the marketplace's server, its host key checked against the pinned one. Raises CallFailed
    (permanent when the server refuses the credentials or shows another host key)."""
    config, secrets = access.config, access.credentials
    host, port = str(config["host"]), int(config.get("port", 22))
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        pinned = host_key(str(config["host_key"]))
    except ValueError as exc:
        raise CallFailed(f"config.host_key: {exc}", permanent=True) from None
    client.get_host_keys().add(host if port == 22 else f"[{host}]:{port}", pinned.get_name(), pinned)
    try:
        try:
            client.connect(
                host,
                port=port,
                username=str(config["username"]),
                password=secrets.get("password"),
                pkey=private_key(secrets["private_key"]) if secrets.get("private_key") else None,
                timeout=access.timeout_s,
                banner_timeout=access.timeout_s,
                auth_timeout=access.timeout_s,
                channel_timeout=access.timeout_s,
                allow_agent=False,
                look_for_keys=False,
            )
            sftp = client.open_sftp()
        except paramiko.AuthenticationException as exc:
            raise CallFailed(f"the SFTP server refused the credentials ({exc})", permanent=True) from None
        except paramiko.BadHostKeyException:
            raise CallFailed(
                "the SFTP server showed another host key than the pinned one", permanent=True
            ) from None
        except paramiko.SSHException as exc:
            permanent = "known_hosts" in str(exc)  # RejectPolicy: no key of the pinned type offered
            raise CallFailed(f"SFTP: {exc}", permanent=permanent) from None
        except ValueError as exc:  # an unreadable private key
            raise CallFailed(f"credentials.private_key: {exc}", permanent=True) from None
        except OSError as exc:
            raise CallFailed(f"cannot reach the SFTP server {host}:{port} ({exc})") from None
        channel = sftp.get_channel()
        if channel is not None:
            channel.settimeout(access.timeout_s)
        try:
            yield sftp
        except OSError as exc:
            permanent = getattr(exc, "errno", None) in (errno.ENOENT, errno.EACCES)
            raise CallFailed(f"SFTP: {exc}", permanent=permanent) from None
        except paramiko.SSHException as exc:
            raise CallFailed(f"SFTP: {exc}") from None
    finally:
        client.close()


def _put(sftp: paramiko.SFTPClient, path: str, data: bytes) -> None:
    """Write `path` whole: under a `.part` name first, then renamed (the reader never sees half a file)."""
    directory, _, name = path.rpartition("/")
    partial = f"{directory}/.{name}.part"
    with sftp.open(partial, "wb") as handle:
        handle.write(data)
    sftp.rename(partial, path)


def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    return True


def safe_name(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._")[:80] or "_"


class SftpCsvConnector:
    kind = KIND
    pushes_stock = True
    pushes_shipments = True
    pushes_prices = True
    signed_webhooks = False
    edits_address = True  # a later version with another ship-to is an address change (ADR 0050)
    edits_lines = True  # a later version with fewer units of a SKU cancels them (ADR 0050)
    polls_orders = True
    stock_batch_size = ROWS_PER_FILE
    price_batch_size = ROWS_PER_FILE

    def parse_order(self, payload: Mapping[str, Any]) -> rules.ChannelOrder:
        return csv_feed.parse_order(payload)

    def wanted(self, payload: Mapping[str, Any]) -> bool:
        return True

    def takes_topic(self, headers: Mapping[str, str]) -> bool:
        return False

    def verify_webhook(self, access: Access, headers: Mapping[str, str], body: bytes) -> None:
        raise SignatureInvalid("a CSV/SFTP feed is polled, it sends no webhooks")

    def poll_orders(self, access: Access, cursor: Mapping[str, Any], now: datetime) -> PollPage:
        """The oldest order file in the inbox folder, read whole, as one page; `settle` names it so it is moved
        to the done folder once its orders are committed."""
        inbox = folder(access, "inbox_dir")
        with session(access) as sftp:
            files = sorted(
                (
                    entry
                    for entry in sftp.listdir_attr(inbox)
                    if entry.filename.lower().endswith(".csv")
                    and not entry.filename.startswith(".")
                    and stat.S_ISREG(entry.st_mode or 0)
                ),
                key=lambda entry: (entry.st_mtime or 0, entry.filename),
            )
            if not files:
                return PollPage(orders=[], cursor=dict(cursor), done=True, report=CallReport(calls=1))
            oldest = files[0]
            with sftp.open(f"{inbox}/{oldest.filename}", "rb") as handle:
                data = handle.read(csv_feed.MAX_FILE_BYTES + 1)
        return PollPage(
            orders=csv_feed.read_orders(oldest.filename, data),
            cursor={"last_file": oldest.filename, "read_at": now.isoformat()},
            done=len(files) == 1,
            report=CallReport(calls=2),
            settle=[oldest.filename],
        )

    def settle(self, access: Access, page: PollPage) -> CallReport:
        """Move the page's files from the inbox to the done folder, each under a new name (the read's time and a
        unique suffix first), so a re-uploaded file of the same name never collides with the first."""
        inbox, done = folder(access, "inbox_dir"), folder(access, "done_dir")
        stamp = str(page.cursor.get("read_at", ""))[:19].replace("-", "").replace(":", "")
        with session(access) as sftp:
            for name in page.settle:
                try:
                    sftp.rename(f"{inbox}/{name}", f"{done}/{stamp}-{new_id().hex[-8:]}-{name}")
                except FileNotFoundError:
                    continue  # moved already (a poll that lost its claim after moving it)
        return CallReport(calls=len(page.settle))

    def push_stock(self, access: Access, updates: Sequence[StockUpdate]) -> CallReport:
        """One available-to-sell file (`available-<time-ordered id>.csv`: sku, listing_id, quantity)."""
        data = csv_feed.write(
            csv_feed.STOCK_HEADER, ((u.channel_sku, u.listing_id, u.quantity) for u in updates)
        )
        with session(access) as sftp:
            _put(sftp, f"{folder(access, 'outbox_dir')}/available-{new_id()}.csv", data)
        return CallReport(calls=1)

    def push_prices(self, access: Access, updates: Sequence[PriceUpdate]) -> CallReport:
        """One price file (`prices-<time-ordered id>.csv`: sku, listing_id, price, currency)."""
        data = csv_feed.write(
            csv_feed.PRICE_HEADER, ((u.channel_sku, u.listing_id, u.price, u.currency) for u in updates)
        )
        with session(access) as sftp:
            _put(sftp, f"{folder(access, 'outbox_dir')}/prices-{new_id()}.csv", data)
        return CallReport(calls=1)

    def push_shipment(self, access: Access, notice: ShipmentNotice) -> CallReport:
        """One confirmation file per shipment, named after the order and the tracking number: a retry after a
        lost answer finds it written and writes nothing more."""
        name = f"shipment-{safe_name(notice.external_id)}-{safe_name(notice.tracking_number)}.csv"
        path = f"{folder(access, 'outbox_dir')}/{name}"
        shipped_at = notice.shipped_at.isoformat() if notice.shipped_at is not None else ""
        data = csv_feed.write(
            csv_feed.SHIPMENT_HEADER,
            [(notice.external_id, notice.carrier, notice.tracking_number, notice.tracking_url, shipped_at)],
        )
        with session(access) as sftp:
            if _exists(sftp, path):
                return CallReport(calls=1)
            _put(sftp, path, data)
        return CallReport(calls=2)

"""The card vault in its own database (its own SQLite file, or its own PostgreSQL database): tokenize, reveal
(audited), refuse bad cards without echoing them, and rotate the key-encryption key so every token still reveals
and no record stays under the old key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.kernel.clock import FixedClock
from ordersmith.payments import rules
from ordersmith.payments.vault import Vault, VaultKeys, keys_from
from ordersmith.payments.vault.store import VaultAccessRow
from ordersmith.platform.settings import Settings
from tests.support import databases

VISA = "4111 1111 1111 1111"
CLOCK = FixedClock(datetime(2026, 11, 28, 12, tzinfo=UTC))


def keys(current: str = "k1", **extra: str) -> VaultKeys:
    return VaultKeys(current_id=current, secrets={"k1": "first-secret-" + "x" * 32, **extra},
                     fingerprint_secret="fingerprint-" + "y" * 32)  # fmt: skip


@pytest.fixture
def vault_file(tmp_path: Path) -> Path:
    return tmp_path / "vault.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def vault_url(request: pytest.FixtureRequest, vault_file: Path) -> Iterator[str]:
    """The vault's own database: a SQLite file, or an empty PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{vault_file}"
        return
    request.getfixturevalue("postgres_ready")
    url = databases.empty_postgres()
    try:
        yield url
    finally:
        databases.drop_postgres(url)


def test_a_card_becomes_a_token_and_only_reveal_gives_the_number_back(vault_file: Path) -> None:
    vault = Vault(f"sqlite:///{vault_file}", keys(), clock=CLOCK)
    card = vault.tokenize(number=VISA, exp_month=12, exp_year=2030, holder="Ann Buyer", actor="web")
    assert card.token.startswith("vtok_") and (card.brand, card.last_four) == ("visa", "1111")
    assert vault.card(card.token) == card
    # the same card again is the same token
    assert (
        vault.tokenize(number="4111111111111111", exp_month=12, exp_year=2030, actor="web").token
        == card.token
    )
    assert (
        vault.reveal(card.token, actor="sandbox gateway", purpose="authorize order 100234")
        == "4111111111111111"
    )
    with vault.engine.connect() as conn:
        log = conn.execute(
            sa.select(VaultAccessRow.action, VaultAccessRow.actor).order_by(VaultAccessRow.id)
        ).all()
    assert [tuple(r) for r in log] == [("tokenized", "web"), ("revealed", "sandbox gateway")]
    vault.dispose()
    # the file holds no card number in the clear
    assert b"4111111111111111" not in vault_file.read_bytes()


def test_a_bad_card_is_refused_with_its_reason_and_nothing_is_stored(vault_url: str) -> None:
    vault = Vault(vault_url, keys(), clock=CLOCK)
    for number, reason in (("4111 1111 1111 1112", "number_invalid"), ("4111111111111111", "expired")):
        with pytest.raises(rules.CardInvalid) as refused:
            vault.tokenize(
                number=number, exp_month=1, exp_year=2026 if reason == "expired" else 2030, actor="web"
            )
        assert refused.value.reason == reason and "1111" not in str(refused.value)
    assert vault.key_ids() == {}
    vault.dispose()


def test_rotating_the_key_rewraps_every_record_and_every_token_still_reveals(vault_url: str) -> None:
    # given cards stored under k1
    old = Vault(vault_url, keys(), clock=CLOCK)
    numbers = ["4111111111111111", "5555555555554444", "378282246310005"]
    tokens = [old.tokenize(number=n, exp_month=12, exp_year=2030, actor="web").token for n in numbers]
    old.dispose()
    # when k2 becomes current (k1 still configured as a previous key) and the vault is rotated
    new = Vault(vault_url, keys("k2", k2="second-secret-" + "z" * 32), clock=CLOCK)
    assert new.rotate(actor="ops", batch=2) == 3
    # then no record is under k1, and every token reveals its number
    assert new.key_ids() == {"k2": 3}
    assert [new.reveal(t, actor="test", purpose="check") for t in tokens] == numbers
    assert new.rotate(actor="ops") == 0
    new.dispose()
    # and without k1 configured at all, the records still open (they are all under k2 now)
    only_k2 = Vault(vault_url, VaultKeys("k2", {"k2": "second-secret-" + "z" * 32},
                                                         "fingerprint-" + "y" * 32), clock=CLOCK)  # fmt: skip
    assert only_k2.reveal(tokens[1], actor="test", purpose="check") == numbers[1]
    only_k2.dispose()


def test_the_vaults_keys_come_from_settings_with_previous_keys_for_rotation() -> None:
    settings = Settings(vault_key="new-secret", vault_key_id="k2", vault_previous_keys="k1=old-secret; k0=older",
                        _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    found = keys_from(settings)
    assert found.current_id == "k2" and found.secrets == {
        "k2": "new-secret",
        "k1": "old-secret",
        "k0": "older",
    }


def test_the_cli_rotates_the_vault_key(vault_file: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    url = f"sqlite:///{vault_file}"
    old = Vault(url, keys_from(Settings(vault_database_url=url, _env_file=None)), clock=CLOCK)  # type: ignore[call-arg]
    token = old.tokenize(number=VISA, exp_month=12, exp_year=2030, actor="web").token
    old.dispose()
    env = {**os.environ, "ORDERSMITH_VAULT_DATABASE_URL": url, "ORDERSMITH_VAULT_KEY_ID": "k2",
           "ORDERSMITH_VAULT_KEY": "a-new-vault-secret-" + "q" * 20,
           "ORDERSMITH_VAULT_PREVIOUS_KEYS": f"k1={Settings(_env_file=None).vault_key.get_secret_value()}"}  # type: ignore[call-arg]  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "ordersmith", "vault", "rotate-key"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1 card(s) re-wrapped under k2" in result.stdout
    rotated = Vault(url, VaultKeys("k2", {"k2": "a-new-vault-secret-" + "q" * 20}, "unused"), clock=CLOCK)
    assert (
        rotated.key_ids() == {"k2": 1} and rotated.reveal(token, actor="t", purpose="t") == "4111111111111111"
    )
    rotated.dispose()


def test_a_cvc_is_held_in_memory_for_the_first_authorization_only_and_never_stored(vault_file: Path) -> None:
    vault = Vault(f"sqlite:///{vault_file}", keys(), clock=CLOCK)
    card = vault.tokenize(number=VISA, exp_month=12, exp_year=2030, actor="web")
    vault.hold_cvc(card.token, "9731")
    first = vault.reveal_card(card.token, actor="gateway:sandbox", purpose="authorize")
    again = vault.reveal_card(card.token, actor="gateway:sandbox", purpose="capture")
    assert (first.number, first.exp_month, first.exp_year, first.cvc) == (
        "4111111111111111",
        12,
        2030,
        "9731",
    )
    assert again.cvc == ""
    assert "4111111111111111" not in repr(first) and "9731" not in repr(first)
    vault.dispose()
    assert b"9731" not in vault_file.read_bytes()  # never written


def test_processes_opening_a_new_vault_at_the_same_moment_all_start(vault_url: str) -> None:
    import threading

    failures: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_vault() -> None:
        barrier.wait()
        try:
            Vault(vault_url, keys(), clock=CLOCK).dispose()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_vault) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []

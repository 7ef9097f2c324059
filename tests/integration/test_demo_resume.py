"""`demo load` killed part-way: run again, it completes, and every key it made is in the credentials file."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith import demo
from ordersmith.demo.platform import DEMO_CHANNELS
from ordersmith.platform import identity
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import ApiKeyRow, SalesChannelRow, UserRow
from tests.builders import make_channel


def _counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(sa.select(sa.func.count()).select_from(t)) or 0)
            for t in (UserRow, SalesChannelRow, ApiKeyRow)
        )


def _keys_in(credentials: Path) -> dict[str, str]:
    lines = [line.split("\t") for line in credentials.read_text().splitlines()]
    return {
        who.removeprefix("api key for "): secret for who, secret in lines if who.startswith("api key for ")
    }


def test_an_interrupted_demo_load_completes_when_run_again_and_lists_every_key(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # given a demo load that dies while making the third channel's key (as a killed process would)
    credentials = tmp_path / "var" / "demo-credentials.txt"
    made = identity.create_api_key
    calls = {"n": 0}

    def dies_on_the_third(*args: object, **kwargs: object) -> identity.NewApiKey:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return made(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(identity, "create_api_key", dies_on_the_third)
    with pytest.raises(RuntimeError, match="killed"):
        demo.load(db, settings, credentials, up_to_stage=10)
    monkeypatch.undo()
    # the users and the first two keys were written as they were made; nothing half-made was left
    assert _counts(db) == (7, 2, 2)
    assert set(_keys_in(credentials)) == {"web", "call-center"}
    # when it runs again
    report = demo.load(db, settings, credentials, up_to_stage=10)
    # then it completes, and the file lists every channel's key, each one working
    assert _counts(db) == (7, 5, 5)
    made_now = [line.split(" with API key ")[0] for line in report.lines if line.startswith("sales channel")]
    assert made_now == ["sales channel catalog-mail", "sales channel amazon-us", "sales channel store-pos"]
    keys = _keys_in(credentials)
    assert set(keys) == {code for code, *_ in DEMO_CHANNELS}
    uow = db.unit_of_work(Actor.system("test"))
    assert all(identity.resolve_api_key(uow, clear=secret) is not None for secret in keys.values())
    assert len(credentials.read_text().splitlines()) == 7 + 5


def test_a_channel_left_without_its_key_gets_one(db: Database, settings: Settings, tmp_path: Path):
    # given a channel an older, killed load created without its key
    make_channel(db.unit_of_work(Actor.system("test")), code="web")
    credentials = tmp_path / "demo-credentials.txt"
    # when the demo load runs
    demo.load(db, settings, credentials, up_to_stage=10)
    # then the channel has its key, listed with the others, and no channel was made twice
    assert _counts(db) == (7, 5, 5)
    assert set(_keys_in(credentials)) == {code for code, *_ in DEMO_CHANNELS}

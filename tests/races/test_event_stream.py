"""The live event stream through a real server: events arrive as they commit, and Last-Event-ID resumes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx

from ordersmith.kernel.ids import id_floor
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key
from tests.support.server import running_server


def _read_events(
    url: str, headers: dict[str, str], count: int, out: list[dict], ready: threading.Event
) -> None:
    with (
        httpx.Client(timeout=httpx.Timeout(20, read=20)) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
                if len(out) >= count:
                    return


def test_sse_delivers_live_events_filtered_by_type_and_resumes_after_last_event_id(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    key = make_api_key(uow).secret
    auth = {"Authorization": f"Bearer {key}"}
    with running_server(db_url, tmp_path / "server.log") as server:
        events: list[dict] = []
        ready = threading.Event()
        reader = threading.Thread(
            target=_read_events,
            args=(f"{server.url}/api/v1/events?type=sales_channel.created", auth, 3, events, ready),
        )
        reader.start()
        assert ready.wait(10)
        for n in range(3):
            body = {"code": f"ch-{n}", "name": f"Channel {n}", "kind": "web", "division": "web"}
            assert (
                httpx.post(f"{server.url}/api/v1/sales-channels", json=body, headers=auth).status_code == 201
            )
            # an event of another type that the filter must hold back
            httpx.post(
                f"{server.url}/api/v1/users",
                json={"email": f"u{n}@example.com", "role": "agent", "password": "long enough pw"},
                headers=auth,
            )
        reader.join(20)
        assert [e["data"]["code"] for e in events] == ["ch-0", "ch-1", "ch-2"]
        assert {e["type"] for e in events} == {"sales_channel.created"}

        # a client that saw only the first event reconnects and gets the two it missed
        resumed: list[dict] = []
        again = threading.Event()
        _read_events(
            f"{server.url}/api/v1/events?type=sales_channel.created",
            {**auth, "Last-Event-ID": events[0]["id"]},
            2,
            resumed,
            again,
        )
        assert [e["id"] for e in resumed] == [events[1]["id"], events[2]["id"]]


def test_sse_resume_after_three_thousand_events_delivers_every_matching_one_in_order(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given a client that saw one event, then went away while 3,000 matching events (and 1,000 of another type,
    # which the filter holds back) were committed
    key = make_api_key(uow).secret
    with uow:
        seen = uow.emit("sales_channel.created", {"code": "seen"})
    missed: list[str] = []
    for batch in range(4):
        with uow:
            for n in range(750):
                missed.append(str(uow.emit("sales_channel.created", {"code": f"ch-{batch}-{n}"}).id))
                if n % 3 == 0:
                    uow.emit("user.created", {"email": f"u{batch}-{n}@example.com"})
    assert len(missed) == 3_000
    with running_server(db_url, tmp_path / "server.log") as server:
        # when it reconnects with the id of the last event it saw
        resumed: list[dict] = []
        _read_events(
            f"{server.url}/api/v1/events?type=sales_channel.created",
            {"Authorization": f"Bearer {key}", "Last-Event-ID": str(seen.id)},
            3_000,
            resumed,
            threading.Event(),
        )
    # then every missed event arrives, once each, in the order they were committed
    assert [e["id"] for e in resumed] == missed
    assert resumed[-1]["data"] == {"code": "ch-3-749"}


def test_sse_resume_from_an_id_older_than_the_outbox_holds_is_answered_410_event_id_too_old(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given an outbox whose oldest event is newer than the client's last id
    key = make_api_key(uow).secret
    with uow:
        uow.emit("sales_channel.created", {"code": "kept"})
    forgotten = id_floor(1_000)
    with running_server(db_url, tmp_path / "server.log") as server:
        # when the client resumes from it
        response = httpx.get(
            f"{server.url}/api/v1/events",
            headers={"Authorization": f"Bearer {key}", "Last-Event-ID": str(forgotten)},
            timeout=10,
        )
    # then it is told plainly that there is nothing to resume from
    assert response.status_code == 410
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "event_id_too_old"

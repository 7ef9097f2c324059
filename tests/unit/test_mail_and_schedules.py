"""Pure pieces of scheduled reports: the SMTP adapter read from settings, the next run, a saved report's period."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ordersmith.platform.mail import SmtpMailer, smtp_mailer
from ordersmith.platform.settings import Settings
from ordersmith.reporting.rules import next_run_at, period_range


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


def test_the_smtp_url_gives_host_port_security_and_credentials_and_the_password_never_shows() -> None:
    mailer = smtp_mailer(_settings(smtp_url="smtp+starttls://reports%40shop:p%40ss@mail.shop.test:2525"))
    assert mailer == SmtpMailer(
        host="mail.shop.test",
        port=2525,
        sender="Ordersmith <ordersmith@localhost>",
        security="starttls",
        username="reports@shop",
        password="p@ss",
    )
    assert "p@ss" not in repr(mailer)
    assert smtp_mailer(_settings(smtp_url="smtps://mail.shop.test")).port == 465  # type: ignore[union-attr]
    assert smtp_mailer(_settings(smtp_host="localhost", smtp_port=1025)).port == 1025  # type: ignore[union-attr]
    assert smtp_mailer(_settings()) is None
    with pytest.raises(ValueError, match="ORDERSMITH_SMTP_URL must be"):
        smtp_mailer(_settings(smtp_url="http://mail.shop.test"))


@pytest.mark.parametrize(
    ("after", "frequency", "hour", "weekday", "expected"),
    [
        (datetime(2026, 3, 2, 5, 59, tzinfo=UTC), "daily", 6, None, datetime(2026, 3, 2, 6, tzinfo=UTC)),
        (datetime(2026, 3, 2, 6, 0, tzinfo=UTC), "daily", 6, None, datetime(2026, 3, 3, 6, tzinfo=UTC)),
        (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), "weekly", 7, 0, datetime(2026, 3, 9, 7, tzinfo=UTC)),
        (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), "weekly", 7, 6, datetime(2026, 3, 8, 7, tzinfo=UTC)),
        (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), "none", 7, None, None),
    ],
)
def test_the_next_run_is_the_first_scheduled_hour_strictly_after_now(
    after: datetime, frequency: str, hour: int, weekday: int | None, expected: datetime | None
) -> None:
    assert next_run_at(after, frequency=frequency, hour=hour, weekday=weekday) == expected


def test_a_saved_reports_period_is_worked_out_on_the_day_it_runs() -> None:
    today = date(2026, 3, 2)
    assert period_range("yesterday", today) == (date(2026, 3, 1), date(2026, 3, 1))
    assert period_range("last_7_days", today) == (date(2026, 2, 23), date(2026, 3, 1))
    assert period_range("previous_month", today) == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_range("month_to_date", today) == (date(2026, 3, 1), date(2026, 3, 2))
    assert period_range("", today) is None

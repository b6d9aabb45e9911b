"""When serve reads a source again, and how it tells the source changed."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import S3Endpoint
from dncsync import config
from dncsync.errors import ConfigError, InputError
from dncsync.sources.fingerprint import fingerprint
from dncsync.sources.schedule import Schedule

TARGET = """
[[target]]
name = "genesys-main"
platform = "genesys"
dnc_list_id = "list-1"
"""


def test_a_cron_line_fires_at_the_next_time_it_names_in_utc() -> None:
    every_quarter = Schedule.parse("*/15 * * * *")
    at = datetime(2026, 12, 5, 4, 7, 30, tzinfo=UTC)
    assert every_quarter.next_fire(at) == datetime(2026, 12, 5, 4, 15, tzinfo=UTC)
    # Strictly after: a fire time itself gives the next one.
    assert every_quarter.next_fire(datetime(2026, 12, 5, 4, 15, tzinfo=UTC)) == datetime(
        2026, 12, 5, 4, 30, tzinfo=UTC
    )
    weekdays_at_six = Schedule.parse("0 6 * * 1-5")
    friday_night = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
    assert weekdays_at_six.next_fire(friday_night) == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    # Another offset is read as the same instant.
    new_york = friday_night.astimezone(ZoneInfo("America/New_York"))
    assert weekdays_at_six.next_fire(new_york) == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"), [("1s", 1), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1w", 604800)]
)
def test_an_interval_fires_at_its_multiples_from_the_epoch_the_same_on_every_machine(
    text: str, seconds: int
) -> None:
    schedule = Schedule.parse(text)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for at in (
        datetime(2026, 12, 5, tzinfo=UTC),
        datetime(2026, 12, 5, 4, 7, 30, 250_000, tzinfo=UTC),
        datetime(2026, 12, 5, 4, 7, 30, tzinfo=ZoneInfo("America/New_York")),
    ):
        last, following = schedule.last_fire(at), schedule.next_fire(at)
        assert last <= at < following
        assert following - last == timedelta(seconds=seconds)
        assert (last - epoch) % timedelta(seconds=seconds) == timedelta(0)
        # Strictly after: a fire time itself gives the next one, and is its own last fire.
        assert schedule.last_fire(last) == last
        assert schedule.next_fire(last) == following
    quarter = Schedule.parse("15m")
    at = datetime(2026, 12, 5, 4, 7, 30, tzinfo=UTC)
    assert quarter.last_fire(at) == datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
    assert quarter.next_fire(at) == datetime(2026, 12, 5, 4, 15, tzinfo=UTC)


def test_a_cron_lines_last_fire_is_at_or_before_the_moment() -> None:
    every_quarter = Schedule.parse("*/15 * * * *")
    assert every_quarter.last_fire(datetime(2026, 12, 5, 4, 7, 30, tzinfo=UTC)) == datetime(
        2026, 12, 5, 4, 0, tzinfo=UTC
    )
    on_time = datetime(2026, 12, 5, 4, 15, tzinfo=UTC)
    assert every_quarter.last_fire(on_time) == on_time


@pytest.mark.parametrize("text", ["0", "0s", "15", "every day", "61 * * * *", "* * * *", ""])
def test_anything_else_is_not_a_schedule(text: str) -> None:
    with pytest.raises(ValueError, match="not a schedule"):
        Schedule.parse(text)


def test_the_configuration_checks_schedules_and_collect_keys() -> None:
    def load(text: str) -> config.Config:
        return config.parse(tomllib.loads(text), "dncsync.toml")

    good = load('[[source]]\nname = "a"\nurl = "a.csv"\nschedule = "*/5 * * * *"\n' + TARGET)
    assert good.source[0].schedule == "*/5 * * * *"
    assert good.target[0].collect is False
    assert good.target[0].collect_every_seconds == 900
    with pytest.raises(ConfigError, match=r"source\[0\]\.schedule: 'soon' is not a schedule"):
        load('[[source]]\nname = "a"\nurl = "a.csv"\nschedule = "soon"\n' + TARGET)
    with pytest.raises(ConfigError, match="standard input cannot be read again"):
        load('[[source]]\nname = "a"\nurl = "-"\nschedule = "1m"\n' + TARGET)
    with pytest.raises(ConfigError, match=r"collect_every: '0': collect at most once a second"):
        load(TARGET + 'collect = true\ncollect_every = "0"\n')
    with pytest.raises(ConfigError, match="collect_reason"):
        load(TARGET + 'collect = true\ncollect_reason = "AGENT"\n')


def test_a_local_fingerprint_follows_the_bytes_not_the_clock(tmp_path: Path) -> None:
    source = tmp_path / "optouts.csv"
    source.write_text("phone\n+14155552671\n", encoding="utf-8")
    before = fingerprint(str(source))
    source.touch()  # a new modification time, the same bytes
    assert fingerprint(str(source)) == before
    source.write_text("phone\n+14155552672\n", encoding="utf-8")  # same size, other bytes
    assert fingerprint(str(source)) != before

    folder = tmp_path / "drops"
    folder.mkdir()
    (folder / "day1.csv").write_text("phone\n+14155552671\n", encoding="utf-8")
    one = fingerprint(str(folder))
    (folder / "day2.csv").write_text("phone\n+14155552673\n", encoding="utf-8")
    assert fingerprint(str(folder)) != one
    (folder / "day2.csv").unlink()
    assert fingerprint(str(folder)) == one


def test_an_s3_fingerprint_lists_without_reading(s3: S3Endpoint) -> None:
    client = s3.client()
    client.create_bucket(Bucket="schedule-prints")
    client.put_object(Bucket="schedule-prints", Key="dnc/day1.csv", Body=b"phone\n")
    client.put_object(Bucket="schedule-prints", Key="dnc/day1.csv.bak", Body=b"other\n")
    prefix, key = "s3://schedule-prints/dnc/", "s3://schedule-prints/dnc/day1.csv"
    first_prefix, first_key = fingerprint(prefix), fingerprint(key)
    client.put_object(Bucket="schedule-prints", Key="dnc/day2.csv", Body=b"phone\n")
    assert fingerprint(prefix) != first_prefix
    assert fingerprint(key) == first_key  # one key: its neighbours are not part of it
    assert fingerprint("s3://schedule-prints/dnc/*.csv") != fingerprint(prefix)
    client.put_object(Bucket="schedule-prints", Key="dnc/day1.csv", Body=b"phone\n1\n")
    assert fingerprint(key) != first_key
    with pytest.raises(InputError, match="no such S3 key"):
        fingerprint("s3://schedule-prints/dnc/missing.csv")

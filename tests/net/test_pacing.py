"""The pacer's decisions, by calling them with explicit times (no waiting)."""

from __future__ import annotations

import pytest

from dncsync.net.pacing import WINDOW_MARGIN_SECONDS, Pacer, RateHeaders


def headers(allowed: int, count: int, reset: int) -> dict[str, str]:
    return {
        "inin-ratelimit-allowed": str(allowed),
        "inin-ratelimit-count": str(count),
        "inin-ratelimit-reset": str(reset),
    }


def test_rate_headers_are_read_or_ignored() -> None:
    assert RateHeaders.parse(headers(300, 12, 41)) == RateHeaders(300, 12, 41.0)
    assert RateHeaders.parse({}) is None
    assert RateHeaders.parse({**headers(300, 12, 41), "inin-ratelimit-count": "x"}) is None
    assert RateHeaders.parse(headers(300, 0, 60)) is None  # not counted: says nothing


def test_a_spent_window_stops_new_requests_until_it_resets() -> None:
    pacer = Pacer(600)
    pacer.observe(200, headers(20, 5, 4), None, now=100.0)
    assert pacer.wait_needed(100.0) == 0.0
    pacer.observe(200, headers(20, 20, 3), None, now=101.0)
    assert pacer.wait_needed(101.0) == pytest.approx(3.0 + WINDOW_MARGIN_SECONDS)
    # Once the window is over, requests go again (the next answers tell the new budget).
    assert pacer.wait_needed(104.2) == 0.0


def test_requests_in_flight_count_against_the_budget() -> None:
    pacer = Pacer(600)
    pacer.observe(200, headers(20, 17, 5), None, now=10.0)
    pacer._in_flight = 2
    assert pacer.wait_needed(10.0) == 0.0  # 3 left, 2 in flight: one more may go
    pacer._in_flight = 3
    assert pacer.wait_needed(10.0) > 0.0


def test_late_answers_keep_the_lowest_budget_of_a_window() -> None:
    pacer = Pacer(600)
    pacer.observe(200, headers(20, 19, 5), None, now=10.0)
    pacer.observe(200, headers(20, 12, 5), None, now=10.05)  # processed earlier, arrived later
    assert pacer._remaining == 1
    pacer.observe(200, headers(20, 1, 5), None, now=16.0)  # a new window
    assert pacer._remaining == 19


def test_the_pace_follows_the_platform_limit() -> None:
    pacer = Pacer(1200)
    pacer.observe(200, headers(60, 1, 60), None, now=0.0)
    assert pacer.rate_per_minute == pytest.approx(60.0)


def test_a_429_pauses_every_request_for_retry_after() -> None:
    pacer = Pacer(600)
    pacer.observe(429, headers(20, 21, 9), 2.0, now=50.0)
    assert pacer.wait_needed(50.0) == pytest.approx(9.0 + WINDOW_MARGIN_SECONDS)
    storm = Pacer(600)
    storm.observe(429, headers(20, 3, 9), 2.0, now=50.0)  # budget left: a transient storm
    assert storm.wait_needed(50.0) == pytest.approx(2.0)
    assert storm.wait_needed(52.0) == 0.0


def test_a_429_without_retry_after_waits_for_the_window_only_when_it_is_spent() -> None:
    spent = Pacer(600)
    spent.observe(429, headers(20, 21, 9), None, now=50.0)
    assert spent.wait_needed(50.0) == pytest.approx(9.0 + WINDOW_MARGIN_SECONDS)
    # Budget left (a variant's bare 429, a shed load): a short pause, not the window's reset.
    storm = Pacer(600)
    storm.observe(429, headers(20, 3, 59), None, now=50.0)
    assert storm.wait_needed(50.0) == pytest.approx(1.0)
    storm.observe(429, headers(20, 4, 58), None, now=51.0)
    assert storm.wait_needed(51.0) == pytest.approx(2.0)  # doubling while 429s continue


def test_without_headers_a_429_lowers_the_pace_and_successes_restore_it() -> None:
    pacer = Pacer(600)
    pacer.observe(429, {}, None, now=0.0)
    # Nothing got through in the last second: the limit is read as half the pace, less 15%.
    assert pacer.rate_per_minute == pytest.approx(255.0)
    assert pacer.wait_needed(0.0) == pytest.approx(1.0)  # no Retry-After: a short pause
    pacer.observe(429, {}, None, now=0.5)  # the same pause: no second decrease
    assert pacer.rate_per_minute == pytest.approx(255.0)
    for _ in range(40):
        pacer.observe(200, {}, None, now=6.0)
    assert 255.0 < pacer.rate_per_minute < 270.0  # above the estimate only slowly
    for _ in range(3000):
        pacer.observe(200, {}, None, now=7.0)
    assert pacer.rate_per_minute == pytest.approx(600.0)  # never above the configured pace


def test_repeated_pauses_without_retry_after_grow() -> None:
    pacer = Pacer(600)
    pacer.observe(429, {}, None, now=0.0)
    pacer.observe(429, {}, None, now=1.5)
    assert pacer.wait_needed(1.5) == pytest.approx(2.0)
    pacer.observe(200, {}, None, now=4.0)
    pacer.observe(429, {}, None, now=5.0)
    assert pacer.wait_needed(5.0) == pytest.approx(1.0)


def test_without_headers_the_limit_is_read_from_what_got_through() -> None:
    pacer = Pacer(2000)  # 33/s, above a platform letting 20 a second through
    for n in range(20):
        pacer.observe(200, {}, None, now=10.0 + n * 0.02)
    pacer.observe(429, {}, None, now=10.5)
    assert pacer.rate_per_minute == pytest.approx(1000.0)  # half the pace at once
    pacer.observe(200, {}, None, now=12.0)
    assert pacer.rate_per_minute == pytest.approx(20 * 0.85 * 60)  # then 85% of what got through


def test_a_storm_while_little_is_sent_does_not_crush_the_pace() -> None:
    pacer = Pacer(3000)
    pacer.observe(200, {}, None, now=10.0)
    pacer.observe(429, {}, None, now=10.5)  # one success in the last second: not a limit
    assert pacer.rate_per_minute == pytest.approx(3000 * 0.5 * 0.85)

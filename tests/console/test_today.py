"""The Today page's figures: the day's activity by hour from the database (both engines,
whose SQL for hours differs), quantiles from a histogram, and the chart's geometry."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest

from bank_adapter.clock import RIYADH, riyadh_date
from bank_adapter.console import today
from bank_adapter.console.charts import Series, hourly_bars, round_maximum
from bank_adapter.console.reads import read_only
from bank_adapter.metrics import Metrics
from tests.console.conftest import pay_today


async def test_the_day_is_counted_by_riyadh_hour_and_partner(service, clock):
    day = riyadh_date(clock())
    clock.set(datetime.combine(day, time(10, 30), RIYADH))
    morning = await pay_today(service, "JWSA", count=2)
    clock.set(datetime.combine(day, time(15, 10), RIYADH))
    afternoon = await pay_today(service, "XMLA", count=1)
    reply = await service.client("JWSA").replies.reverse(
        bank_payment_ref=morning.refs[0], reason="asked", channel="APP"
    )
    assert reply.status == 200
    id_number, mobile = await service.register()
    reply = await service.client("XMLA").replies.activate(
        id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="c"
    )
    assert reply.status == 200
    assert afternoon.refs

    async with read_only(service.runtime.store.engine) as conn:
        found = await today.activity(conn, list(service.runtime.partners), today.Window.of(clock()))

    posted = {hour: n for hour, n in enumerate(found.posted_by_hour) if n}
    assert posted == {10: 2, 15: 1}
    assert {h: n for h, n in enumerate(found.reversed_by_hour) if n} == {15: 1}
    assert {h: n for h, n in enumerate(found.activations_by_hour) if n} == {15: 1}
    jwsa, xmla = found.partners["JWSA"], found.partners["XMLA"]
    assert (jwsa.posted_count, jwsa.posted_halalas) == (2, 130_000)
    assert (jwsa.reversed_count, jwsa.reversed_halalas) == (1, 65_000)
    assert (xmla.posted_count, xmla.activations) == (1, 1)


async def test_yesterday_is_not_today(service, clock):
    day = riyadh_date(clock())
    clock.set(datetime.combine(day, time(12, 0), RIYADH) - timedelta(days=1))
    await pay_today(service, "JWSA", count=1)
    id_number, mobile = await service.register()
    await service.client("JWSA").replies.activate(
        id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="c"
    )
    clock.set(datetime.combine(day, time(0, 30), RIYADH))
    async with read_only(service.runtime.store.engine) as conn:
        found = await today.activity(conn, list(service.runtime.partners), today.Window.of(clock()))
    assert sum(found.posted_by_hour) == sum(found.activations_by_hour) == 0


def test_quantiles_interpolate_within_the_bucket_like_prometheus():
    metrics = Metrics()
    for seconds in [0.006] * 50 + [0.009] * 30 + [0.03] * 20:
        metrics.latency.labels("payment").observe(seconds)
    [latency] = today.latencies(metrics)
    assert latency.count == 100
    # 80 of 100 at or below 10 ms, none at or below 5 ms: the 50th is 5/8 of the way.
    assert latency.p50 == pytest.approx(0.005 + 0.005 * 50 / 80)
    # 20 between 25 and 50 ms: the 99th is 19/20 of the way.
    assert latency.p99 == pytest.approx(0.025 + 0.025 * 19 / 20)


def test_a_quantile_in_the_open_bucket_is_the_highest_bound():
    assert today.quantile(0.99, [(0.1, 1.0), (float("inf"), 100.0)]) == 0.1
    assert today.quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None


def test_request_codes_come_from_this_instances_counter():
    metrics = Metrics()
    metrics.requests.labels("JWSA", "payment", "OK").inc(3)
    metrics.requests.labels("JWSA", "payment", "UNKNOWN_KEY").inc()
    assert today.request_codes(metrics) == {"JWSA": {"OK": 3, "UNKNOWN_KEY": 1}}


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (420, 500)])
def test_the_charts_scale_ends_on_a_round_number(value, top):
    assert round_maximum(value) == top


def test_right_to_left_charts_run_the_hours_from_the_right():
    values = [0] * 24
    values[1] = 4
    svg = hourly_bars([Series("posted", values)], title="day")
    mirrored = hourly_bars([Series("posted", values)], title="day", rtl=True)

    def x_of_bar(chart: str) -> float:
        bars = re.findall(
            r'<rect x="([0-9.]+)" y="[0-9.]+" width="[0-9.]+" height="([0-9.]+)"', chart
        )
        [(x, _)] = [(x, h) for x, h in bars if float(h) > 0]
        return float(x)

    assert x_of_bar(svg) < 200 < x_of_bar(mirrored)
    assert "<script" not in svg

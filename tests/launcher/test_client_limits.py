"""The per-client token bucket: a burst, then one request per refill interval."""

from launcher.client_limits import RateLimit


def test_a_client_gets_its_burst_then_waits_for_the_refill():
    now = [100.0]
    limit = RateLimit(6, clock=lambda: now[0])  # 6 a minute: one every 10 s
    assert [limit.take("a") for _ in range(6)] == [0.0] * 6
    assert 9.9 < limit.take("a") <= 10.0
    assert limit.take("b") == 0.0  # another client has its own bucket
    now[0] += 10.0
    assert limit.take("a") == 0.0 and limit.take("a") > 0


def test_zero_means_no_limit():
    limit = RateLimit(0)
    assert all(limit.take("a") == 0.0 for _ in range(1000))

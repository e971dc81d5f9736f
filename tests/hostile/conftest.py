"""Hypothesis settings for the fuzz tests: a short `ci` run by default, a `long` one with
HYPOTHESIS_PROFILE=long (see README, "Tests"). No deadline: a busy machine is not a bug,
and a hang is caught by the tests' own generous timeouts."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
settings.register_profile("ci", max_examples=30, **_COMMON)
settings.register_profile("long", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

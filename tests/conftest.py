"""Settings shared by every test under tests/."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# The tests run on busy machines (two cores shared with other jobs): how long one example or
# its data generation takes says nothing about the code, so no per-example deadline (200 ms by
# default) and no too-slow health check. max_examples bounds each property's run.
settings.register_profile(
    "load-independent", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("load-independent")

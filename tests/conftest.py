"""Suite-wide settings.

Hypothesis runs without deadlines: a deadline is a timed assertion, and the suite makes
none (timings live in tools/bench). ``HYPOTHESIS_PROFILE=thorough`` runs more examples;
``HYPOTHESIS_PROFILE=ci`` (what .ci/run sets) runs the default number derandomized, so
a CI verdict does not depend on which random examples a run happened to draw: new
examples are explored by developers' runs and the thorough profile, and what they find
is pinned with ``@example``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=2000,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

"""Repository-wide pytest setup.

On CI (``CI`` set) hypothesis runs derandomized, so a gate run is reproducible; locally it keeps
exploring new examples (and stores failures in ``.hypothesis/``).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

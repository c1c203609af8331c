"""Shared test set-up."""

import os

from hypothesis import settings

# In CI the property tests draw the same examples every run, so a red build is reproducible; locally they
# explore new examples each time.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

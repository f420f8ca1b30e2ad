"""Shared pytest set-up. Keep it small: fixtures belong next to the tests that use them."""

from hypothesis import settings

# The suite shares a small machine with other work: judge behaviour, not wall-clock time.
settings.register_profile("pxl", deadline=None)
settings.load_profile("pxl")

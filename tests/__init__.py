"""The test suite, a package: helpers are imported as ``tests.<area>.<module>``, shared fixtures live
in the conftest.py of the narrowest directory that covers their users."""

# Import the package before pytest collects its modules for doctests: with
# --import-mode=importlib, collecting normtest/ecdf.py first would otherwise bind
# the submodule, not the function, to the name normtest.ecdf.
import normtest  # noqa: F401

# CI runs the property tests on hypothesis' fixed example sequence (the same examples on every run,
# so a submission's result does not depend on luck); locally they keep exploring new examples.
import os  # noqa: E402

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

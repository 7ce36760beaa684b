# Import the package before pytest collects its modules for doctests: with
# --import-mode=importlib, collecting normtest/ecdf.py first would otherwise bind
# the submodule, not the function, to the name normtest.ecdf.
import normtest  # noqa: F401

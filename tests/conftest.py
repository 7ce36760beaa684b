import os
import sys

import numpy as np
import pytest

# With --import-mode=importlib the tests folder is not on sys.path; the slow
# reference implementations (tests/naive*.py) are imported as plain modules.
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)

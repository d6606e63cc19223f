from pathlib import Path

import pytest

from tests.unit.web.helpers import Pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki.create(tmp_path)

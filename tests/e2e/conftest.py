import os

import pytest


@pytest.fixture
def env(tmp_path, empty_database_url):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PHAEN_")}
    environment["PHAEN_INSTANCE_PATH"] = str(tmp_path / "instance")
    environment["PHAEN_DATABASE_URL"] = empty_database_url
    return environment

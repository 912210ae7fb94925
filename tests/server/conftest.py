"""The server suites share one build of the shipped seeds; each module starts its own server
on it with the settings it tests (`sl_server_process.serving`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sl_server_process import build_and_publish


@pytest.fixture(scope="session")
def shipped_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project built on the shipped seeds and published to its serving/."""
    return build_and_publish(tmp_path_factory.mktemp("server_suites"))

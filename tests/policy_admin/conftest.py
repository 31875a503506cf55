from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.settings import Settings
from tests.policy_admin.policy_support import policies_with_f9_health


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The gateway under test starts from policies in which F9 still passes health data (see policy_support)."""
    return settings.model_copy(update={"policies_dir": policies_with_f9_health(tmp_path / "policies"),
                                       "policy_reload_seconds": 0.2})

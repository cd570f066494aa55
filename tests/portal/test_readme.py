"""The README documents every setting Plinth reads from the environment."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_environment_variable_the_settings_read_is_in_the_readme() -> None:
    source = "\n".join(path.read_text() for path in sorted((ROOT / "portal" / "settings").glob("*.py")))
    names = set(re.findall(r'(?:os\.environ\.get|env[a-z]*)\(\s*"([A-Z][A-Z0-9_]+)"', source))
    assert {"DATABASE_URL", "PLINTH_IDLE_TIMEOUT_STAFF_SECONDS", "PLINTH_RATE_CHECKIN"} <= names
    readme = (ROOT / "README.md").read_text()
    assert sorted(name for name in names if f"`{name}`" not in readme) == []

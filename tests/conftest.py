import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def specs_root() -> Path:
    """The spec mirror (GEN_SOURCE_SPECS). Under CI=true a missing mirror fails, never skips."""
    env = os.environ.get("GEN_SOURCE_SPECS")
    if env:
        return Path(env).resolve()
    if os.environ.get("CI") == "true":
        pytest.fail(
            "GEN_SOURCE_SPECS is not set (CI=true): tests that need the vendor specs cannot run"
        )
    default = ROOT.parent / "shared" / "specs"
    if not default.is_dir():
        pytest.skip("no spec mirror: set GEN_SOURCE_SPECS")
    return default


@pytest.fixture(scope="session")
def specs() -> Path:
    return specs_root()


@pytest.fixture(autouse=True, scope="session")
def _spec_env():
    env = os.environ.get("GEN_SOURCE_SPECS")
    if env:  # absolute, so subprocesses started in other folders find the mirror too
        os.environ["GEN_SOURCE_SPECS"] = str(Path(env).resolve())
    default = ROOT.parent / "shared" / "specs"
    if not env and default.is_dir() and os.environ.get("CI") != "true":
        os.environ["GEN_SOURCE_SPECS"] = str(default)
    os.environ.setdefault("GEN_SOURCE_CACHE", str(ROOT / ".pytest-cache-gen-source"))
    yield

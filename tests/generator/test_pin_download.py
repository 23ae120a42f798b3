"""A pin without a mirror downloads by URL; when that fails the one-line error says how to
work offline."""

import pytest

from generator.errors import GenSourceError
from generator.spec import loader


def test_failed_download_names_the_url_and_the_offline_setting(tmp_path, monkeypatch):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "demo.toml").write_text(
        'name = "demo"\nurl = "http://127.0.0.1:9/demo.json"\nsha256 = "'
        + "0" * 64
        + '"\nmirror_path = "demo/x.json"\n'
    )
    monkeypatch.delenv("GEN_SOURCE_SPECS", raising=False)
    monkeypatch.setenv("GEN_SOURCE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(GenSourceError) as err:
        loader.load("demo", root=tmp_path)
    assert "http://127.0.0.1:9/demo.json" in str(
        err.value
    ) and "GEN_SOURCE_SPECS" in str(err.value)
    assert "\n" not in str(err.value)

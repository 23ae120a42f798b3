"""The source contract: registry, config form JSON, config parsing errors, error matching."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, SecretStr

from runtime.source import sources
from runtime.source.sources import (
    IncrementalField,
    IncrementalFieldType,
    ResumableSource,
    SimpleSource,
    SourceConfig,
    SourceConfigError,
    SourceFieldInputConfig,
    SourceFieldOauthConfig,
    SourceFieldSelectConfig,
    SourceFieldSelectOption,
    SourceFieldSwitchGroupConfig,
    SourceInputs,
    SourceResponse,
    SourceSchema,
    get_registered_source,
    register_source,
    registered_sources,
)
from runtime.state.store import ResumableSourceManager, StateStore


class Nested(BaseModel):
    region: str


class Config(BaseModel):
    api_key: SecretStr
    page_size: int = 100
    nested: Nested | None = None


class Demo(SimpleSource[Config]):
    config_class = Config

    def get_source_config(self) -> SourceConfig:
        return SourceConfig(
            name="demo",
            label="Demo",
            fields=(SourceFieldInputConfig("api_key", "API key", type="password"),),
        )

    def get_schemas(self, config: Config) -> list[SourceSchema]:
        return [SourceSchema("things", primary_key=["id"]), SourceSchema("others")]

    def validate_credentials(self, config, schema_name=None):
        return config.api_key.get_secret_value() == "good", None

    def get_non_retryable_errors(self):
        return {
            "401 Unauthorized": "The API key was rejected; create a new one.",
            "403": None,
        }

    def source_for_pipeline(self, config, inputs):
        return SourceResponse(name=inputs.schema_name, items=lambda: iter([{"id": 1}]))


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(sources, "_REGISTRY", {})


def test_registry_returns_instances_and_rejects_clashes(clean_registry):
    register_source("demo")(Demo)
    assert isinstance(get_registered_source("demo"), Demo)
    assert get_registered_source("demo") is not get_registered_source("demo")
    assert registered_sources() == {"demo": Demo}
    register_source("demo")(Demo)  # the same class again (a module reload) is fine

    class Other(Demo):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_source("demo")(Other)
    with pytest.raises(KeyError, match="registered: demo"):
        get_registered_source("nope")
    with pytest.raises(TypeError):
        register_source("x")(dict)


def test_parse_config_names_the_field_and_never_the_value():
    source = Demo()
    assert source.parse_config({"api_key": "k"}).page_size == 100
    with pytest.raises(
        SourceConfigError, match=r"^config field 'api_key': Field required$"
    ):
        source.parse_config({"page_size": 5})
    with pytest.raises(SourceConfigError) as exc:
        source.parse_config({"api_key": "sk_live_SECRET", "page_size": "lots"})
    assert str(exc.value).startswith("config field 'page_size':")
    assert "SECRET" not in str(exc.value) and "lots" not in str(exc.value)
    with pytest.raises(
        SourceConfigError, match=r"^config field 'nested.region': Field required$"
    ):
        source.parse_config({"api_key": "k", "nested": {}})
    with pytest.raises(SourceConfigError, match=r"'page_size'.*\(\+1 more\)$"):
        source.parse_config({"api_key": "k", "page_size": "x", "nested": {}})
    with pytest.raises(SourceConfigError, match="mapping"):
        source.parse_config(["api_key"])


def test_non_retryable_errors_match_by_substring():
    source = Demo()
    assert source.non_retryable_reason(RuntimeError("GET /x: 401 Unauthorized")) == (
        True,
        "The API key was rejected; create a new one.",
    )
    assert source.non_retryable_reason(RuntimeError("HTTP 403 at /y")) == (True, None)
    assert source.non_retryable_reason(RuntimeError("HTTP 500")) == (False, None)


def test_get_schema_names_the_known_ones():
    source = Demo()
    config = source.parse_config({"api_key": "k"})
    assert source.get_schema(config, "things").primary_key == ["id"]
    with pytest.raises(KeyError, match="others, things"):
        source.get_schema(config, "missing")


def test_field_json_marks_secrets_and_nests_sub_fields():
    password = SourceFieldInputConfig("api_key", "API key", type="password")
    plain = SourceFieldInputConfig("account", "Account", placeholder="acct_...")
    flagged = SourceFieldInputConfig("token", "Token", secret=True)
    assert password.to_json()["secret"] is True
    assert plain.to_json()["secret"] is False
    assert flagged.to_json()["secret"] is True
    with pytest.raises(ValueError, match="input type 'date'"):
        SourceFieldInputConfig("d", "D", type="date")  # type: ignore[arg-type]

    select = SourceFieldSelectConfig(
        "auth",
        "Auth",
        options=(
            SourceFieldSelectOption("Key", "key", fields=(password,)),
            SourceFieldSelectOption("OAuth", "oauth"),
        ),
        default_value="key",
    )
    switch = SourceFieldSwitchGroupConfig("ssh", "Use SSH", fields=(plain,))
    oauth = SourceFieldOauthConfig(
        "conn",
        "Connection",
        kind="crm",
        flows=("clientCredentials",),
        required_scopes=("read", "write"),
    )
    config = SourceConfig(
        "demo",
        "Demo",
        caption="c",
        fields=(select, switch, oauth),
        release_status="beta",
        unreleased=False,
    )
    data = config.to_json()
    assert data["release_status"] == "beta" and data["unreleased"] is False
    with pytest.raises(ValueError, match="release_status 'rc'"):
        SourceConfig("demo", "Demo", release_status="rc")  # type: ignore[arg-type]
    assert [f["kind"] for f in data["fields"]] == ["select", "switch-group", "oauth"]
    assert data["fields"][0]["options"][0]["fields"][0]["name"] == "api_key"
    assert "fields" not in data["fields"][0]["options"][1]
    assert data["fields"][1]["fields"][0]["placeholder"] == "acct_..."
    assert data["fields"][2]["required_scopes"] == ["read", "write"]
    assert data["fields"][2]["flows"] == ["clientCredentials"]


def test_schema_json_and_incremental_field_types():
    field = IncrementalField(
        field="updated", type="datetime", filter_param="updated_after", label="Updated"
    )
    schema = SourceSchema(
        "t", supports_incremental=True, incremental_fields=[field], primary_key=["id"]
    )
    data = schema.to_json()
    assert data["incremental_fields"] == [
        {
            "label": "Updated",
            "type": "datetime",
            "field": "updated",
            "field_type": "datetime",
        }
    ]
    assert {t.value for t in IncrementalFieldType} == {
        "integer",
        "numeric",
        "datetime",
        "date",
        "timestamp",
    }


def test_resumable_source_gets_a_manager_from_the_inputs_store(tmp_path):
    class R(ResumableSource[Config, dict]):
        config_class = Config

        def get_source_config(self):
            return SourceConfig("r", "R")

        def get_schemas(self, config):
            return []

        def validate_credentials(self, config, schema_name=None):
            return True, None

        def source_for_pipeline(self, config, resumable_source_manager, inputs):
            raise NotImplementedError

    store = StateStore(tmp_path / "s.db")
    manager = R().get_resumable_source_manager(
        SourceInputs("things", source_name="r", state_store=store)
    )
    assert isinstance(manager, ResumableSourceManager)
    assert (manager.source, manager.schema) == ("r", "things")
    with pytest.raises(ValueError, match="no state store"):
        R().get_resumable_source_manager(SourceInputs("things"))
    with pytest.raises(TypeError):
        SimpleSource()  # abstract: a source must implement the contract

"""The source contract every connector implements, in the shape of a production warehouse source.

A source describes its config form (`get_source_config`), lists its tables (`get_schemas`),
checks credentials, and for one table returns a `SourceResponse`: a callable that yields rows
plus what the writer needs to know (keys, partitioning, sort order, declared columns).
`runtime/sync.py` drives it; `runtime/delta/writer.py` writes what it yields. Sources that can
continue an interrupted read subclass `ResumableSource` and save their position through a
`ResumableSourceManager` (runtime/state/store.py).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from runtime.catalog import (  # noqa: F401 - IncrementalFieldType: part of the source interface
    Column,
    IncrementalField,
    IncrementalFieldType,
)
from runtime.errors import UserError
from runtime.state.store import ResumableSourceManager

if TYPE_CHECKING:
    from runtime.state.store import StateStore

ConfigT = TypeVar("ConfigT", bound=BaseModel)
ResumeStateT = TypeVar("ResumeStateT")

INPUT_TYPES = ("text", "email", "number", "textarea", "password", "url")


class SourceConfigError(UserError, ValueError):
    """A user-supplied config that does not fit the source's `config_class` (one line)."""


class UnknownIncrementalField(ValueError):
    """The incremental field asked for is not one the table offers (one line, naming
    them)."""


def pick_incremental_field(table: str, offered: list, name: str | None):
    """The offered field (anything with `.field`) called `name`, or the first when no
    name is given; `UnknownIncrementalField` naming the offered ones otherwise."""
    for f in offered:
        if name is None or f.field == name:
            return f
    known = ", ".join(f.field for f in offered) or "none"
    raise UnknownIncrementalField(
        f"table {table!r}: no incremental field {name!r} (offered: {known})"
    )


# ---------------------------------------------------------------- config form (display only)


@dataclass(frozen=True)
class SourceFieldInputConfig:
    """A single input box. `password` inputs are secret whether or not `secret` is set."""

    name: str
    label: str
    type: Literal["text", "email", "number", "textarea", "password", "url"] = "text"
    required: bool = True
    placeholder: str = ""
    caption: str | None = None
    secret: bool = False

    def __post_init__(self) -> None:
        if self.type not in INPUT_TYPES:
            raise ValueError(
                f"field {self.name!r}: input type {self.type!r} not in {INPUT_TYPES}"
            )

    @property
    def is_secret(self) -> bool:
        return self.secret or self.type == "password"

    def to_json(self) -> dict:
        return {
            "kind": "input",
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "placeholder": self.placeholder,
            "caption": self.caption,
            "secret": self.is_secret,
        }


@dataclass(frozen=True)
class SourceFieldSelectOption:
    label: str
    value: str
    fields: tuple[SourceField, ...] = ()

    def to_json(self) -> dict:
        out: dict[str, Any] = {"label": self.label, "value": self.value}
        if self.fields:
            out["fields"] = [f.to_json() for f in self.fields]
        return out


@dataclass(frozen=True)
class SourceFieldSelectConfig:
    """A drop-down; choosing an option can reveal that option's own sub-fields."""

    name: str
    label: str
    options: tuple[SourceFieldSelectOption, ...]
    required: bool = True
    default_value: str | None = None
    caption: str | None = None

    def to_json(self) -> dict:
        return {
            "kind": "select",
            "name": self.name,
            "label": self.label,
            "required": self.required,
            "default_value": self.default_value,
            "caption": self.caption,
            "options": [o.to_json() for o in self.options],
        }


@dataclass(frozen=True)
class SourceFieldSwitchGroupConfig:
    """A toggle; when on, its sub-fields are asked for. `group` marks what the group is
    for (`"webhooks"`: the settings of the vendor's change events, not of the table
    sync)."""

    name: str
    label: str
    fields: tuple[SourceField, ...] = ()
    default: bool = False
    caption: str | None = None
    group: str | None = None

    def to_json(self) -> dict:
        out = {
            "kind": "switch-group",
            "name": self.name,
            "label": self.label,
            "default": self.default,
            "caption": self.caption,
            "fields": [f.to_json() for f in self.fields],
        }
        if self.group:
            out["group"] = self.group
        return out


@dataclass(frozen=True)
class SourceFieldOauthConfig:
    """An OAuth connection picked from integrations of `kind`, using one of `flows`
    (OpenAPI flow names) and granted at least `required_scopes`."""

    name: str
    label: str
    kind: str
    flows: tuple[str, ...] = ()
    required_scopes: tuple[str, ...] = ()
    required: bool = True
    caption: str | None = None

    def to_json(self) -> dict:
        return {
            "kind": "oauth",
            "name": self.name,
            "label": self.label,
            "oauth_kind": self.kind,
            "flows": list(self.flows),
            "required_scopes": list(self.required_scopes),
            "required": self.required,
            "caption": self.caption,
        }


SourceField = (
    SourceFieldInputConfig
    | SourceFieldSelectConfig
    | SourceFieldSwitchGroupConfig
    | SourceFieldOauthConfig
)


RELEASE_STATUSES = ("alpha", "beta", "ga")


@dataclass(frozen=True)
class SourceConfig:
    """The form plus how far the source is trusted: `release_status` alpha | beta | ga;
    `unreleased` sources are shown only where `feature_flag` is on."""

    name: str
    label: str
    caption: str = ""
    fields: tuple[SourceField, ...] = ()
    release_status: Literal["alpha", "beta", "ga"] = "alpha"
    unreleased: bool = True
    feature_flag: str | None = None
    docs_url: str | None = None
    icon_path: str | None = None

    def __post_init__(self) -> None:
        if self.release_status not in RELEASE_STATUSES:
            raise ValueError(
                f"source {self.name!r}: release_status {self.release_status!r}"
                f" not in {RELEASE_STATUSES}"
            )

    def field_names(self) -> set[str]:
        """Every field's name: the top-level ones, a select's options' and a group's."""
        out: set[str] = set()
        todo = list(self.fields)
        while todo:
            f = todo.pop()
            out.add(f.name)
            todo += [sub for o in getattr(f, "options", ()) for sub in o.fields]
            if isinstance(f, SourceFieldSwitchGroupConfig):
                out.discard(f.name)  # a toggle of the form, not a config value
                todo += list(f.fields)
        return out

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "caption": self.caption,
            "release_status": self.release_status,
            "unreleased": self.unreleased,
            "feature_flag": self.feature_flag,
            "docs_url": self.docs_url,
            "icon_path": self.icon_path,
            "fields": [f.to_json() for f in self.fields],
        }


# ---------------------------------------------------------------- schemas and sync inputs


@dataclass(frozen=True)
class SourceSchema:
    name: str
    supports_incremental: bool = False
    supports_append: bool = False
    incremental_fields: list[IncrementalField] = field(default_factory=list)
    primary_key: list[str] | None = None
    description: str = ""
    supports_webhooks: bool = False

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "supports_incremental": self.supports_incremental,
            "supports_append": self.supports_append,
            "incremental_fields": [f.source_json() for f in self.incremental_fields],
            "primary_key": self.primary_key,
            "description": self.description,
            "supports_webhooks": self.supports_webhooks,
        }


@dataclass
class SourceInputs:
    """What the sync tells a source about this run of one schema.

    `state_store`/`source_name` let `ResumableSource.get_resumable_source_manager` find the
    saved position without a global."""

    schema_name: str
    should_use_incremental_field: bool = False
    db_incremental_field_last_value: Any = None
    db_incremental_field_earliest_value: Any = None
    incremental_field: str | None = None
    incremental_field_type: IncrementalFieldType | None = None
    job_id: str | None = None
    logger: logging.Logger = field(
        default_factory=lambda: logging.getLogger("gen_source")
    )
    reset_pipeline: bool = False
    backfill_complete: bool = False
    source_name: str = ""
    state_store: StateStore | None = None


@dataclass
class SourceResponse:
    """One table's data plus how to write it. `items()` is called once per run and yields
    dicts, lists of dicts, or pyarrow Tables/RecordBatches."""

    name: str
    items: Callable[[], Iterable[Any]]
    primary_keys: list[str] | None = None
    partition_count: int | None = None
    partition_size: int | None = None
    partition_keys: list[str] | None = None
    partition_mode: Literal["datetime", "md5", "numerical"] | None = None
    partition_format: Literal["week", "month"] | None = None
    sort_mode: Literal["asc", "desc"] = "asc"
    rows_to_sync: int | None = None
    columns: list[Column] = field(default_factory=list)
    incremental_field: str | None = None
    incremental_field_type: str | None = None


# ---------------------------------------------------------------- source classes


class _BaseSource(ABC, Generic[ConfigT]):
    """What every source has, resumable or not."""

    config_class: ClassVar[type[BaseModel] | None] = None

    def parse_config(self, data: dict) -> ConfigT:
        """Validate a user config dict; the error names the field, never its value."""
        if self.config_class is None:
            raise TypeError(f"{type(self).__name__} has no config_class")
        if not isinstance(data, dict):
            raise SourceConfigError(
                f"config must be a mapping, got {type(data).__name__}"
            )
        try:
            return self.config_class.model_validate(data)  # type: ignore[return-value]
        except ValidationError as exc:
            errors = exc.errors(include_input=False, include_url=False)
            first = errors[0]
            where = ".".join(str(p) for p in first["loc"]) or "<root>"
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            raise SourceConfigError(
                f"config field {where!r}: {first['msg']}{more}"
            ) from None

    @abstractmethod
    def get_source_config(self) -> SourceConfig: ...

    @abstractmethod
    def get_schemas(self, config: ConfigT) -> list[SourceSchema]: ...

    @abstractmethod
    def validate_credentials(
        self, config: ConfigT, schema_name: str | None = None
    ) -> tuple[bool, str | None]: ...

    def get_non_retryable_errors(self) -> dict[str, str | None]:
        """Error class name (or, for a key that is not one, a substring of the message)
        -> explanation for the user. A match stops retries."""
        return {}

    def non_retryable_reason(self, error: BaseException) -> tuple[bool, str | None]:
        """(matched, explanation) for an error, using `get_non_retryable_errors`: a key
        naming a class the error is an instance of matches by type; any other key by
        message text."""
        types = {cls.__name__ for cls in type(error).__mro__}
        errors = self.get_non_retryable_errors()
        for key, explanation in errors.items():
            if key in types:
                return True, explanation
        text = str(error)
        for key, explanation in errors.items():
            if not key.isidentifier() and key in text:
                return True, explanation
        return False, None

    def get_schema(self, config: ConfigT, name: str) -> SourceSchema:
        schemas = self.get_schemas(config)
        for schema in schemas:
            if schema.name == name:
                return schema
        known = ", ".join(sorted(s.name for s in schemas))
        raise KeyError(f"unknown schema {name!r}; this source has: {known}")


class SimpleSource(_BaseSource[ConfigT]):
    """A source that re-reads from its incremental watermark (or from scratch) each run."""

    @abstractmethod
    def source_for_pipeline(
        self, config: ConfigT, inputs: SourceInputs
    ) -> SourceResponse: ...


class ResumableSource(_BaseSource[ConfigT], Generic[ConfigT, ResumeStateT]):
    """A source that saves its read position so a crashed run continues where it stopped."""

    def get_resumable_source_manager(
        self, inputs: SourceInputs
    ) -> ResumableSourceManager:
        if inputs.state_store is None:
            raise ValueError(
                f"schema {inputs.schema_name!r}: no state store to resume from"
            )
        return ResumableSourceManager(
            inputs.state_store, inputs.source_name, inputs.schema_name
        )

    @abstractmethod
    def source_for_pipeline(
        self,
        config: ConfigT,
        resumable_source_manager: ResumableSourceManager,
        inputs: SourceInputs,
    ) -> SourceResponse: ...


AnySource = SimpleSource[Any] | ResumableSource[Any, Any]

# ---------------------------------------------------------------- registry

_REGISTRY: dict[str, type] = {}


def register_source(name: str) -> Callable[[type], type]:
    """Class decorator: make a source findable by `name` (e.g. from the CLI)."""

    def decorate(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, _BaseSource)):
            raise TypeError(
                f"@register_source({name!r}) needs a SimpleSource/ResumableSource"
            )
        existing = _REGISTRY.get(name)
        same = existing is not None and (
            existing.__module__,
            existing.__qualname__,
        ) == (cls.__module__, cls.__qualname__)
        if existing is not None and not same:
            raise ValueError(
                f"source name {name!r} already registered by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        _REGISTRY[name] = cls
        return cls

    return decorate


def get_registered_source(name: str) -> AnySource:
    """A new instance of the source registered as `name`."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(
            f"no source registered as {name!r} (registered: {known})"
        ) from None


def registered_sources() -> dict[str, type]:
    return dict(sorted(_REGISTRY.items()))

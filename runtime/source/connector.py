"""What every generated REST connector shares: loading a generated package, its override
hooks, config values, and `RestSource`, the base class of generated sources."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import ClassVar

from runtime.catalog import EndpointConfig
from runtime.http.auth import AuthConfigError
from runtime.http.client import HttpError
from runtime.read.reader import IncrementalWindow, ReadLimits
from runtime.source.sources import (
    ResumableSource,
    ResumableSourceManager,
    SourceInputs,
    SourceResponse,
    SourceSchema,
    pick_incremental_field,
)
from runtime.webhooks.subscriptions import manual
from runtime.webhooks.sync import webhooks_of

PACKAGE_ROOT = "gen_source_connectors"


def load_connector(folder: Path) -> types.ModuleType:
    """Import `generated/<source>/` as a package (its files use relative imports) and return
    it with `settings`, `config`, `source` and the transport module loaded."""
    folder = Path(folder).resolve()
    name = f"{PACKAGE_ROOT}.{folder.name.replace('-', '_')}"
    cached = sys.modules.get(name)
    if cached is not None and Path(cached.__file__).parent == folder:
        return cached
    if PACKAGE_ROOT not in sys.modules:
        root = types.ModuleType(PACKAGE_ROOT)
        root.__path__ = []  # a namespace for loaded connectors
        sys.modules[PACKAGE_ROOT] = root
    init = folder / "__init__.py"
    if not init.is_file():
        raise FileNotFoundError(f"no generated connector at {folder}")
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for sub in ("settings", "config", folder.name.replace("-", "_"), "source"):
        setattr(module, sub, importlib.import_module(f"{name}.{sub}"))
    return module


class MissingOverrideModule(ImportError):
    """A connector generated with `overrides/<source>.py` whose file is gone: it must
    not run without its hooks (rows would silently change)."""


def load_hooks(path: Path) -> types.ModuleType:
    """`overrides/<source>.py` of the connector's project, imported once as a module of
    its own (a generated connector that names one cannot run without it)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise MissingOverrideModule(
            f"override module {path} is missing: the connector was generated with it "
            "and does not run without it (restore the file, or regenerate the "
            "connector)"
        )
    name = f"{PACKAGE_ROOT}_hooks.{path.stem.replace('-', '_')}"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(loaded.__file__).resolve() == path:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # Registered first, as an import would: dataclasses and pickle look it up there.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def config_values(config: object, mapping: dict[str, str]) -> dict[str, str]:
    """`{key: config.<field>}` for set fields, secrets unwrapped (pydantic SecretStr)."""
    out: dict[str, str] = {}
    for key, field in mapping.items():
        value = getattr(config, field, None)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if value != "":
            out[key] = str(value)
    return out


def chosen_auth(
    config: object,
    options: dict[str, dict],
    credentials: dict[str, dict[str, str]],
    needs: dict[str, tuple[str, ...]],
    field: str = "auth_method",
) -> tuple[dict, dict[str, str]]:
    """(auth scheme, credentials) of the auth option the config's `field` selects (the
    first option when unset). An unknown option or a missing field it needs is
    `AuthConfigError`."""
    choice = getattr(config, field, None) or next(iter(options))
    if choice not in options:
        raise AuthConfigError(
            f"config field {field!r}: {choice!r} is not an auth method"
            f" (choose one of: {', '.join(options)})"
        )
    missing = [
        f for f in needs.get(choice, ()) if getattr(config, f, None) in (None, "")
    ]
    if missing:
        raise AuthConfigError(
            f"config field {missing[0]!r} is required for auth method {choice!r}"
        )
    return options[choice], config_values(config, credentials.get(choice, {}))


class RestSource(ResumableSource):
    """Generated sources subclass this and set `source_name`, `config_class`, `catalog`
    (settings.ENDPOINTS) and `transport` (the generated transport module)."""

    source_name: str = ""
    catalog: ClassVar[dict[str, EndpointConfig]] = {}
    transport: types.ModuleType

    def __init__(
        self, *, allow_private_hosts: bool = False, limits: ReadLimits | None = None
    ) -> None:
        self.allow_private_hosts = allow_private_hosts
        self.limits = (
            limits  # page size and page count caps for every read (recording, replay)
        )

    # -- webhooks (generated/<source>/webhooks.py, when the plan has webhooks) -------------------
    def webhooks_module(self) -> types.ModuleType | None:
        return webhooks_of(self)

    def _no_webhooks(self):
        return manual(f"{self.source_name} declares no webhooks")

    def create_webhook(self, config, url: str):
        module = self.webhooks_module()
        if module is None:
            return self._no_webhooks()
        return module.create_webhook(
            config, url, allow_private_hosts=self.allow_private_hosts
        )

    def delete_webhook(self, config, webhook_id: str):
        module = self.webhooks_module()
        if module is None:
            return self._no_webhooks()
        return module.delete_webhook(
            config, webhook_id, allow_private_hosts=self.allow_private_hosts
        )

    def get_external_webhook_info(
        self, config, webhook_id: str | None = None, url: str | None = None
    ):
        module = self.webhooks_module()
        if module is None:
            return self._no_webhooks()
        return module.get_external_webhook_info(
            config, webhook_id, url, allow_private_hosts=self.allow_private_hosts
        )

    def schemas_from_catalog(self) -> list[SourceSchema]:
        module = self.webhooks_module()
        hooked = set(module.WEBHOOK_RESOURCE_MAP) if module is not None else set()
        out = []
        for ep in self.catalog.values():
            if not ep.selected:
                continue
            fields = list(ep.incremental_fields)
            out.append(
                SourceSchema(
                    name=ep.name,
                    supports_incremental=bool(fields),
                    supports_append=bool(fields),
                    incremental_fields=fields,
                    primary_key=list(ep.primary_key) if ep.primary_key else None,
                    description=ep.path,
                    supports_webhooks=ep.name in hooked,
                )
            )
        return out

    def _context(self, schema: str, job_id: str | None = None) -> dict:
        return {"source": self.source_name, "schema": schema, "job_id": job_id}

    def probe(
        self, config, schema_name: str | None, *, fallback: str
    ) -> tuple[bool, str | None]:
        """Read one page of `schema_name` (else of `fallback`). 401 fails; 403 is accepted when
        the caller named no schema (the key is valid, it only lacks that table's scope)."""
        named = schema_name is not None
        schema_name = schema_name or fallback
        try:
            headers = (
                dict(self.catalog[schema_name].headers)
                if schema_name in self.catalog
                else {}
            )
            with self.transport.client(
                config,
                context=self._context(schema_name),
                allow_private_hosts=self.allow_private_hosts,
                headers=headers,
            ) as http:
                reader = self.transport.reader(
                    http, config, schema_name, limits=self.limits
                )
                next(iter(reader.pages()), None)
        except HttpError as exc:
            if exc.status == 403 and not named:
                return True, None
            return False, str(exc)
        except AuthConfigError:
            raise  # the config lacks what the chosen auth needs: not a rejected credential
        except (ValueError, OSError) as exc:
            return False, str(exc)
        return True, None

    def response_for(
        self, config, manager: ResumableSourceManager, inputs: SourceInputs
    ) -> SourceResponse:
        ep = self.catalog[inputs.schema_name]
        window = None
        if inputs.should_use_incremental_field and ep.incremental_fields:
            field = pick_incremental_field(
                ep.name, ep.incremental_fields, inputs.incremental_field
            )
            window = IncrementalWindow(
                field=field,
                last_value=inputs.db_incremental_field_last_value,
                earliest_value=inputs.db_incremental_field_earliest_value,
                backfill_complete=inputs.backfill_complete,
            )

        def items():
            context = self._context(ep.name, inputs.job_id)
            with self.transport.client(
                config,
                context=context,
                allow_private_hosts=self.allow_private_hosts,
                headers=dict(ep.headers),
            ) as http:
                reader = self.transport.reader(
                    http, config, ep.name, incremental=window, limits=self.limits
                )
                resume = manager.load_state() if manager.can_resume() else None
                for page in reader.pages(resume):
                    # Pending until the pipeline commits the batch holding this page's rows, so
                    # the persisted position never runs ahead of committed rows (exactly once).
                    manager.save_state(page.resume_state)
                    yield page.rows

        return SourceResponse(
            name=ep.name,
            items=items,
            primary_keys=list(ep.primary_key) if ep.primary_key else None,
            partition_count=1 if ep.partition_key else None,
            partition_size=1 if ep.partition_key else None,
            partition_keys=[ep.partition_key] if ep.partition_key else None,
            partition_mode="datetime" if ep.partition_key else None,
            partition_format=ep.partition_format if ep.partition_key else None,
            sort_mode=ep.sort_mode,
            columns=list(ep.columns),
            incremental_field=window.field.field if window else None,
            incremental_field_type=window.field.type if window else None,
        )

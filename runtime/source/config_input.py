"""A connector's config from `--config FILE.json` and `GEN_SOURCE_<SOURCE>_<FIELD>` variables."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pydantic import ValidationError

from runtime.errors import UserError


class ConfigError(UserError, ValueError):
    """A config file or variable that does not give the config class what it needs."""


def env_name(source: str, field: str) -> str:
    return "GEN_SOURCE_" + re.sub(r"[^A-Za-z0-9]", "_", f"{source}_{field}").upper()


def collect(source: str, config_class, *, file: Path | None = None, base_url: str | None = None,
            environ: dict | None = None):
    """Fields from the file first, then the environment fills what the file lacks; `--base-url`
    wins over both. Returns a validated config instance; errors name the field and both ways to set it."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    if file is not None:
        try:
            loaded = json.loads(Path(file).read_text())
        except FileNotFoundError:
            raise ConfigError(f"{file}: no such file") from None
        except ValueError as exc:
            raise ConfigError(f"{file}: not JSON ({exc})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{file}: expected a JSON object of config fields")
        unknown = sorted(set(loaded) - set(config_class.model_fields))
        if unknown:
            raise ConfigError(f"{file}: unknown config field {unknown[0]!r} "
                              f"(fields: {', '.join(config_class.model_fields)})")
        values.update(loaded)
    for field in config_class.model_fields:
        name = env_name(source, field)
        if field not in values and environ.get(name):
            values[field] = environ[name]
    if base_url:
        values["base_url"] = base_url
    try:
        return config_class.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err.get("loc", ())) or "?"
        raise ConfigError(f"config field {field!r}: {err.get('msg', 'invalid')} "
                          f"(set it in --config or {env_name(source, field)})") from None

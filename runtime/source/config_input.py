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


def collect(
    source: str,
    config_class,
    *,
    file: Path | None = None,
    base_url: str | None = None,
    environ: dict | None = None,
):
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
            raise ConfigError(
                f"{file}: unknown config field {unknown[0]!r} "
                f"(fields: {', '.join(config_class.model_fields)})"
            )
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
        raise ConfigError(describe_errors(source, exc)) from None


def describe_errors(source: str, exc: ValidationError) -> str:
    """Every missing field at once with the variables that set them, else the first
    problem (never a value: a config holds secrets)."""
    errors = exc.errors(include_input=False, include_url=False)
    fields = [".".join(str(x) for x in e.get("loc", ())) or "?" for e in errors]
    kinds = [e.get("type") for e in errors]
    missing = [f for f, kind in zip(fields, kinds, strict=True) if kind == "missing"]
    if missing:
        s = "s" if len(missing) > 1 else ""
        names = ", ".join(repr(f) for f in missing)
        variables = ", ".join(env_name(source, f.split(".")[0]) for f in missing)
        them = "them" if s else "it"
        return (
            f"missing config field{s} {names} (set {them} in --config or {variables})"
        )
    field, err = fields[0], errors[0]
    return (
        f"config field {field!r}: {err.get('msg', 'invalid')} "
        f"(set it in --config or {env_name(source, field.split('.')[0])})"
    )

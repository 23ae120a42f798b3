"""Builders for the small spec fragments the analysis tests write."""

from __future__ import annotations


def api(paths: dict, schemas: dict | None = None, **extra) -> dict:
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
    }
    if schemas:
        doc["components"] = {"schemas": schemas}
    doc.update(extra)
    return doc


def get(
    schema: dict | None, params: list | None = None, headers: dict | None = None, **op
) -> dict:
    """A GET path item returning `schema` as JSON."""
    resp: dict = {"description": "ok"}
    if schema is not None:
        resp["content"] = {"application/json": {"schema": schema}}
    if headers:
        resp["headers"] = {k: {"schema": {"type": "string"}} for k in headers}
    return {"get": {"parameters": params or [], "responses": {"200": resp}, **op}}


def q(name: str, schema: dict | None = None, description: str = "", **extra) -> dict:
    return {
        "name": name,
        "in": "query",
        "schema": schema or {"type": "string"},
        "description": description,
        **extra,
    }


def path_param(name: str, schema: dict | None = None, **extra) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema or {"type": "string"},
        **extra,
    }


def obj(**props) -> dict:
    return {"type": "object", "properties": props}


def arr(items: dict) -> dict:
    return {"type": "array", "items": items}


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
DT = {"type": "string", "format": "date-time"}

"""Spec text can never become code: whatever a spec's titles, descriptions, operation ids,
parameter and property names, enum values, paths, server URLs, security scheme names or
webhook event names hold,
the generated files compile and that text appears only inside string literals and comments.

Every generated .py file is parsed and walked: each identifier (names, attributes, defs,
classes, arguments, keywords, imports) must be one the templates produce for a benign spec,
or a sanitised config field name made from one of the spec's path parameters or server
variables. Every planted
string carries the marker PWNED, which may appear only in STRING and COMMENT tokens.
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import re
import tempfile
import tokenize
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from generator.config_form import AUTH_FIELDS, snake
from generator.generate import Options, make_plan, render
from generator.render.literals import py

MARK = "PWNED"
NASTY = [
    '"""',
    "'''",
    '"',
    "'",
    "\\",
    "\\N{x}",
    "\n",
    "\r\n",
    "{{ x }}",
    "{% if 1 %}",
    "{#",
    "#",
    "\x00",
    "import os",
    "os.system('id')",
    "class",
    "def",
    "None",
    "é✓",
    "\u2028",
    "\u202e",
    "\x1b[2J",
    "${x}",
    "%s",
    "</script>",
    "|",
    "`",
    "*/",
    "\t",
    " ",
    "0x",
    "9",
]
SOURCE = "inj"


def nasty() -> st.SearchStrategy[str]:
    parts = st.lists(
        st.sampled_from(NASTY) | st.text(max_size=6), min_size=1, max_size=5
    )
    return st.tuples(parts, st.integers(0, 5)).map(
        lambda t: "".join(t[0][: t[1]]) + MARK + "".join(t[0][t[1] :])
    )


def spec_for(f: dict) -> dict:
    """A complete spec around the fragment `f`: a scope-parameter list endpoint (its
    parameter becomes a config field), a plain list endpoint, enums, an API key scheme."""
    row = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "created": {"type": "integer"},
            f["property"]: {
                "type": "string",
                "enum": f["enum"],
                "description": f["description"],
            },
        },
    }
    page = {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": row},
            "has_more": {"type": "boolean"},
        },
    }
    params = [
        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
        {"name": "starting_after", "in": "query", "schema": {"type": "string"}},
        {
            "name": f["query"],
            "in": "query",
            "required": True,
            "description": f["description"],
            "schema": {"type": "string", "enum": f["enum"], "default": f["enum"][0]},
        },
    ]

    def op(extra: list) -> dict:
        return {
            "get": {
                "operationId": f["operation_id"],
                "summary": f["summary"],
                "description": f["description"],
                "tags": [f["tag"]],
                "parameters": extra + params,
                "responses": {
                    "200": {
                        "description": f["description"],
                        "content": {"application/json": {"schema": page}},
                    }
                },
            }
        }

    scope = {
        "name": f["scope"],
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    event = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "type": {"const": "thing." + f["event"]},
            "created": {"type": "integer"},
            "data": {"type": "object", "properties": {"object": row}},
        },
    }
    return {
        "openapi": "3.1.0",
        "webhooks": {
            f["event"]: {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": event}}},
                    "responses": {"200": {"description": f["description"]}},
                }
            }
        },
        "info": {
            "title": f["title"],
            "version": f["version"],
            "description": f["description"],
        },
        "servers": [
            {
                "url": "https://{region}.example.com/" + f["server"],
                "variables": {
                    "region": {
                        "default": f["enum"][0],
                        "enum": f["enum"],
                        "description": f["description"],
                    }
                },
            }
        ],
        "security": [{f["scheme"]: []}],
        "components": {
            "securitySchemes": {
                f["scheme"]: {"type": "apiKey", "in": "header", "name": f["header"]}
            }
        },
        "paths": {
            "/v1/things": op([]),
            "/v1/accounts/{" + f["scope"] + "}/" + f["segment"]: op([scope]),
        },
    }


BENIGN = {
    "title": "Benign",
    "version": "1",
    "description": "d",
    "summary": "s",
    "operation_id": "list",
    "segment": "items",
    "scope": "account",
    "query": "kind",
    "enum": ["a", "b"],
    "property": "name",
    "server": "v1",
    "scheme": "key",
    "header": "X-Key",
    "tag": "t",
    "event": "updated",
}


@st.composite
def fragments(draw) -> dict:
    out = {k: draw(nasty()) for k in BENIGN if k not in ("enum", "scope")}
    out["enum"] = draw(st.lists(nasty(), min_size=1, max_size=3, unique=True))
    out["scope"] = "account" + draw(
        nasty()
    )  # a scope word first: the analysis makes it a config field
    return out


def render_files(spec: dict) -> tuple[set[str], dict[str, str]]:
    """(the path parameters and server variables the plan takes from the config, every
    generated file)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.json"
        path.write_text(json.dumps(spec))
        opts = Options(
            root=Path(tmp),
            out=Path(tmp) / "out",
            name=SOURCE,
            no_overrides=True,
            validate=False,
        )
        plan, _ = make_plan(str(path), opts)
        variables = {v.name for v in plan.server.variables} if plan.server else set()
        params = {p for e in plan.endpoints for p in e.config_params}
        return params | variables, render(plan, opts)


def identifiers(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.keyword) and node.arg:
            out.add(node.arg)
        elif isinstance(node, ast.alias):
            out.update(x for x in (node.name, node.asname) if x)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def _benign_identifiers() -> set[str]:
    found: set[str] = set()
    _, files = render_files(spec_for(BENIGN))
    # Both endpoints are generated and the scope parameter is a config field: the baseline
    # holds everything the templates print for a catalog, fan-out aside.
    assert (
        '"/v1/accounts/{account}/items"' in files["settings.py"]
        and "account:" in files["config.py"]
    )
    assert "thing.updated" in files["webhooks.py"]
    for name, text in files.items():
        if name.endswith(".py"):
            found |= identifiers(ast.parse(text))
    auth_fields = {field[0] for fields in AUTH_FIELDS.values() for field in fields}
    return found | auth_fields | {"__file__", "parent", "token_url"}


ALLOWED = _benign_identifiers()


def sanitised_names(params: set[str]) -> set[str]:
    """What the config form may call a path parameter: its sanitised name, `_value`-suffixed
    on collisions."""
    return {snake(p) + "_value" * k for p in params for k in range(4)}


def check_python(name: str, text: str, allowed: set[str]) -> None:
    tree = ast.parse(text, filename=name)  # compiles
    compile(tree, name, "exec")
    for ident in identifiers(tree):
        assert ident in allowed, (
            f"{name}: identifier {ident!r} is not one the templates produce"
        )
        assert re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_.]*", ident
        ) and not keyword.iskeyword(ident), ident
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if MARK in tok.string:
            assert tok.type in (tokenize.STRING, tokenize.COMMENT), (
                f"{name}:{tok.start[0]}: spec text outside a string or comment: {tok.line!r}"
            )


def check_markdown(name: str, text: str) -> None:
    """Table rows keep their column count; no raw HTML."""
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    widths = {len(re.findall(r"(?<!\\)\|", re.sub(r"\\\\", "", line))) for line in rows}
    assert len(widths) <= 1, (
        f"{name}: a table row has a different number of cells: {widths}"
    )
    assert "<" not in text.replace("<!--", "").replace("-->", ""), name


def check_rendering(spec: dict) -> dict[str, str]:
    params, files = render_files(spec)
    allowed = ALLOWED | sanitised_names(params)
    for name, text in files.items():
        if name.endswith(".py"):
            check_python(name, text, allowed)
        else:
            check_markdown(name, text)
    settings_tree = ast.parse(files["settings.py"])
    consts = {
        n.targets[0].id: n.value
        for n in settings_tree.body
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
    }
    base_url = ast.literal_eval(consts["BASE_URL"])
    server = spec["servers"][0]
    region = server["variables"]["region"]["default"]
    expected = server["url"].replace("{region}", region, 1)
    assert base_url == expected.rstrip("/")  # the server URL, as a string, unchanged
    paths = {
        kw.value.value
        for node in ast.walk(settings_tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "path"
    }
    assert "/v1/things" in paths and paths <= set(spec["paths"])
    return files


# No shrinking: a failing example is printed as found, and CI time stays bounded.
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(fragments())
def test_any_spec_text_renders_only_as_literals_and_comments(fragment):
    check_rendering(spec_for(fragment))


def test_docstring_breakout_and_planted_code_stay_text():
    """The title that once closed the generated docstrings and ran code on import."""
    f = dict(
        BENIGN,
        title='Pets""" ; import os; PWNED = os.getcwd() ; """',
        description='\\N{oops} """ \x00 PWNED',
        summary="a\nPWNED = 1\n#",
        property='x"): PWNED()#',
        scope='account"]; PWNED(); x=["',
        enum=["'''PWNED'''", "\\"],
        server='"+PWNED()+"',
        scheme="PWNED\u202e",
        header="X-PWNED\r\nInjected: 1",
    )
    files = check_rendering(spec_for(f))
    init = ast.parse(files["__init__.py"])
    assert [type(n).__name__ for n in init.body] == ["Expr"]  # only the docstring
    assert "import os; PWNED = os.getcwd()" in ast.get_docstring(init)


def test_sanitised_identifiers_are_deterministic_and_collisions_get_stable_suffixes():
    f = dict(BENIGN)
    spec = spec_for(f)
    first = spec["paths"].pop("/v1/accounts/{account}/items")
    spec["paths"]["/v1/accounts/{account class}/items"] = first
    spec["paths"]["/v1/accounts/{Account-Class}/more"] = json.loads(
        json.dumps(first).replace('"account"', '"Account-Class"')
    )
    spec["paths"]["/v1/accounts/{account class}/items"]["get"]["parameters"][0][
        "name"
    ] = "account class"
    params, a = render_files(spec)
    reordered = dict(spec, paths=dict(reversed(list(spec["paths"].items()))))

    def unstamped(
        files: dict[str, str],
    ) -> dict[str, str]:  # headers name the file and its sha256
        return {
            k: re.sub(r"sha256 `?[0-9a-f]{64}|\S+/spec\.json", "", v)
            for k, v in files.items()
        }

    assert unstamped(render_files(reordered)[1]) == unstamped(
        a
    )  # the spec's key order changes nothing
    assert unstamped(render_files(spec)[1]) == unstamped(a)
    fields = set(re.findall(r"^    (\w+): ", a["config.py"], re.M))
    assert {"account_class", "account_class_value"} <= fields
    check_python("config.py", a["config.py"], ALLOWED | sanitised_names(params))


def test_literals_of_yaml_only_values_evaluate_back():
    """YAML specs can hold .nan/.inf, which repr would print as undefined names."""
    for value in (
        float("nan"),
        float("inf"),
        float("-inf"),
        [1.5, float("inf")],
        {"x": float("-inf")},
    ):
        text = py(value)
        back = eval(text, {"__builtins__": {"float": float}})  # noqa: S307 - our own literal
        assert repr(back) == repr(value)


@pytest.mark.parametrize(
    "raw, name",
    [
        ("class", "class_"),
        ("3d", "param_3d"),
        ("é✓", "param"),
        ("accountId", "account_id"),
        ("Account ID", "account_id"),
        ("__init__", "init"),
        ("None", "none"),
        ("match", "match_"),
    ],
)
def test_config_field_names_are_sanitised_identifiers(raw, name):
    assert snake(raw) == name and snake(raw) == snake(raw)
    assert name.isidentifier() and name.isascii() and not keyword.iskeyword(name)

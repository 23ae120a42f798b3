"""Overrides: validated, merged with `why: override`, stale keys are errors."""

from pathlib import Path

import pytest

from generator.overrides import OverrideError, apply_overrides, load_overrides
from generator.plan import Endpoint, Plan, SpecInfo
from runtime.catalog import (
    CursorPagination,
    LinkHeaderPagination,
    OffsetPagination,
    ParentConfig,
)


def plan() -> Plan:
    return Plan(
        source="demo",
        spec=SpecInfo("Demo", "1", "3.0.3", "0" * 64),
        base_url="https://api.example.com",
        auth=[],
        endpoints=[
            Endpoint(name="customers", path="/v1/customers", selected=True),
            Endpoint(
                name="customer_tax_ids",
                path="/v1/customers/{customer}/tax_ids",
                selected=True,
                parent=ParentConfig(
                    endpoint="customers", path_param="customer", field="id"
                ),
            ),
            Endpoint(name="customer", path="/v1/customers/{customer}", selected=False),
        ],
    )


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "demo.yaml"
    f.write_text(text)
    return f


def test_override_sets_decisions_and_says_so_in_why(tmp_path):
    data = load_overrides(
        write(
            tmp_path,
            """
endpoints:
  "GET /v1/customers":
    pagination: {type: cursor, cursor_param: starting_after, cursor_path: "data[-1].id"}
    page_size: 50
    sort_mode: desc
    incremental_fields: [{field: created, type: integer, filter_param: "created[gt]"}]
""",
        )
    )
    p = apply_overrides(plan(), data, "overrides/demo.yaml")
    ep = p.endpoint("customers")
    assert ep.pagination == CursorPagination(
        cursor_param="starting_after", cursor_path="data[-1].id", page_size=50
    )
    assert (
        ep.sort_mode == "desc"
        and ep.incremental_fields[0].filter_param == "created[gt]"
    )
    assert ep.why["pagination"] == "override" and ep.why["incremental"] == "override"


def test_rename_follows_into_children(tmp_path):
    data = load_overrides(
        write(tmp_path, "endpoints:\n  /v1/customers: {name: clients}\n")
    )
    p = apply_overrides(plan(), data, "x")
    assert p.endpoint("clients") is not None
    assert p.endpoint("customer_tax_ids").parent.endpoint == "clients"


def test_selection_listed_keeps_only_listed_endpoints(tmp_path):
    data = load_overrides(
        write(
            tmp_path,
            "selection: listed\nendpoints:\n  /v1/customers: {selected: true}\n",
        )
    )
    p = apply_overrides(plan(), data, "x")
    assert [e.name for e in p.endpoints if e.selected] == ["customers"]


def test_override_that_matches_nothing_is_an_error_naming_it(tmp_path):
    data = load_overrides(
        write(tmp_path, "endpoints:\n  GET /v1/gone: {selected: false}\n")
    )
    with pytest.raises(OverrideError, match=r"GET /v1/gone.*matches no endpoint"):
        apply_overrides(plan(), data, "overrides/demo.yaml")


@pytest.mark.parametrize(
    "text, where",
    [
        ("colour: blue\n", "colour"),
        ("endpoints:\n  /v1/customers: {pagination: {type: auto}}\n", "pagination"),
        ("endpoints:\n  /v1/customers: {name: 'Bad Name'}\n", ".name"),
        ("endpoints:\n  /v1/customers: {page_size: -1}\n", "page_size"),
        ("endpoints:\n  /v1/customers: {sort_mode: up}\n", "sort_mode"),
        ("auth: {type: api_key}\n", "auth[0]"),
        ("endpoints: [1, 2]\n", "endpoints"),
        (
            "endpoints:\n  /v1/customers: {incremental_fields: [{field: x, type: weird, filter_param: y}]}\n",
            "incremental_fields",
        ),
        (
            "endpoints:\n  /v1/customers: {variants: {Bad-Name: {}}}\n",
            "variants['Bad-Name']",
        ),
        (
            "endpoints:\n  /v1/customers: {variants: {vips: {name: x}}}\n",
            "variants['vips'].name",
        ),
        (
            "endpoints:\n  /v1/customers: {variants: {vips: {sort_mode: up}}}\n",
            "variants['vips'].sort_mode",
        ),
        ("endpoints:\n  /v1/customers: {variants: []}\n", "variants"),
    ],
)
def test_invalid_overrides_are_refused_with_file_and_key(tmp_path, text, where):
    f = write(tmp_path, text)
    with pytest.raises(OverrideError) as err:
        load_overrides(f)
    assert str(f) in str(err.value) and where in str(err.value)


def test_malformed_yaml_is_one_located_line(tmp_path):
    with pytest.raises(OverrideError, match="malformed YAML") as err:
        load_overrides(write(tmp_path, "endpoints: {a: [\n"))
    assert "\n" not in str(err.value)


def test_parent_that_does_not_exist_is_refused(tmp_path):
    data = load_overrides(
        write(
            tmp_path,
            "endpoints:\n  /v1/customers/{customer}/tax_ids:\n"
            "    parent: {endpoint: nope, path_param: customer, field: id}\n",
        )
    )
    with pytest.raises(OverrideError, match="nope"):
        apply_overrides(plan(), data, "x")


def test_pagination_type_is_explicit_in_plan_json():
    ep = plan().endpoint("customers")
    ep.pagination = OffsetPagination(offset_param="offset", limit_param="limit")
    assert ep.to_json()["pagination"] == {
        "type": "offset",
        "limit_param": "limit",
        "offset_param": "offset",
    }


@pytest.mark.parametrize(
    ("pagination", "message"),
    [
        (
            "{type: cursor, cursor_param: after}",
            "pagination cursor: missing cursor_path",
        ),
        (
            "{type: offset, offset_param: skip, per_page: 5}",
            "pagination offset: unknown per_page",
        ),
    ],
)
def test_pagination_override_with_wrong_keys_is_one_located_line(
    tmp_path, pagination, message
):
    with pytest.raises(OverrideError, match=message) as err:
        load_overrides(
            write(
                tmp_path,
                f"endpoints:\n  /v1/customers:\n    pagination: {pagination}\n",
            )
        )
    assert str(err.value).startswith(f"{tmp_path / 'demo.yaml'}: endpoints")
    assert "\n" not in str(err.value)


def test_a_new_pagination_keeps_the_page_size_and_single_page_takes_none(tmp_path):
    p = plan()
    p.endpoint("customers").pagination = LinkHeaderPagination(
        limit_param="per_page", page_size=100
    )
    data = load_overrides(
        write(
            tmp_path,
            "endpoints:\n  /v1/customers:\n"
            "    pagination: {type: offset, offset_param: skip, limit_param: take}\n",
        )
    )
    apply_overrides(p, data, "x")
    assert p.endpoint("customers").pagination == OffsetPagination(
        offset_param="skip", limit_param="take", page_size=100
    )
    data = load_overrides(
        write(tmp_path, "endpoints:\n  /v1/customers/{customer}:\n    page_size: 10\n")
    )
    with pytest.raises(OverrideError, match="page_size on single_page pagination"):
        apply_overrides(plan(), data, "x")


VARIANTS = """
endpoints:
  /v1/customers:
    name: clients
    params: {segment: retail}
    incremental_fields: [{field: created, type: integer, filter_param: "created[gt]"}]
    variants:
      business_clients:
        params: {segment: business}
        sort_mode: desc
"""


def test_a_variant_is_another_table_from_the_same_operation(tmp_path):
    p = apply_overrides(plan(), load_overrides(write(tmp_path, VARIANTS)), "x")
    base, variant = p.endpoint("clients"), p.endpoint("business_clients")
    assert (variant.path, variant.method, variant.variant_of) == (
        base.path,
        base.method,
        "clients",
    )
    # It starts from the endpoint's decisions after its overrides, then takes its own.
    assert base.params == {"segment": "retail"} and variant.params == {
        "segment": "business"
    }
    assert variant.incremental_fields == base.incremental_fields and variant.selected
    assert (base.sort_mode, variant.sort_mode) == ("asc", "desc")
    assert (
        variant.why["variant"] == "override: a variant of clients"
        and "variant" not in base.why
    )
    variant.incremental_fields.clear()  # a copy, not shared
    assert base.incremental_fields[0].field == "created"
    # plan JSON keeps one entry per operation (plan-format.md); the variant nests in it.
    entries = p.to_json()["endpoints"]
    assert [e["path"] for e in entries] == sorted({e.path for e in p.endpoints})
    [clients] = [e for e in entries if e["name"] == "clients"]
    assert [v["name"] for v in clients["variants"]] == ["business_clients"]
    assert (
        clients["variants"][0]["variant_of"] == "clients"
        and "variant_of" not in clients
    )
    assert len(p.operations()) == 3 and len(p.endpoints) == 4


def test_a_variant_name_that_is_taken_is_refused(tmp_path):
    data = load_overrides(
        write(tmp_path, "endpoints:\n  /v1/customers: {variants: {customer: {}}}\n")
    )
    with pytest.raises(OverrideError, match="two endpoints named 'customer'"):
        apply_overrides(plan(), data, "overrides/demo.yaml")


def test_column_types_override_names_fields_the_spec_leaves_untyped(tmp_path):
    from generator.plan import Column

    base = plan()
    base.endpoint("customers").columns = [
        Column("id", "string"),
        Column("paid", "int64"),
    ]
    data = load_overrides(
        write(
            tmp_path,
            """
endpoints:
  /v1/customers: {column_types: {paid: timestamp, balance: "decimal(18,2)"}}
""",
        )
    )
    ep = apply_overrides(base, data, "x").endpoint("customers")
    assert [(c.name, c.type) for c in ep.columns] == [
        ("id", "string"),
        ("paid", "timestamp"),
        ("balance", "decimal(18,2)"),
    ]
    assert ep.why["columns"] == "override"
    with pytest.raises(OverrideError, match=r"column_types: invalid value"):
        load_overrides(
            write(
                tmp_path, "endpoints:\n  /v1/customers: {column_types: {paid: time}}\n"
            )
        )

"""Server URLs: variables become config fields, and a host the spec gives only as an
example (each customer has their own) is marked so a run refuses it."""

from __future__ import annotations

import pytest

from generator.analysis.servers import example_host_reason
from generator.config_form import build_form

from .fragments import api, arr, get, obj

LIST = {"/things": get(arr(obj(id={"type": "string"})))}


@pytest.mark.parametrize(
    "host, example",
    [
        ("api.example.com", True),
        ("example.org", True),
        ("billing.test", True),
        ("localhost", True),
        ("subdomain.okta.com", True),
        ("your-domain.atlassian.net", True),
        ("yourcompany.zendesk.com", True),
        ("tenant.auth0.com", True),
        ("api.stripe.com", False),
        ("api.datadoghq.com", False),
        ("examples.com", False),
        ("a.klaviyo.com", False),
        ("{yourOktaDomain}", False),  # not a host yet: the variable decides
    ],
)
def test_example_hosts(host, example):
    assert (example_host_reason(host) is not None) is example


def test_server_variables_become_config_fields_with_defaults_and_enums(plan_of):
    plan = plan_of(
        api(
            LIST,
            servers=[
                {
                    "url": "https://{subdomain}.{site}/v1",
                    "variables": {
                        "site": {
                            "default": "datadoghq.com",
                            "enum": ["datadoghq.com", "datadoghq.eu"],
                        },
                        "subdomain": {
                            "default": "api",
                            "description": "where the API is",
                        },
                    },
                }
            ],
        )
    )
    server = plan.server
    assert server.url == "https://{subdomain}.{site}/v1" and not server.example_host
    assert [(v.name, v.default, v.enum, v.example) for v in server.variables] == [
        ("subdomain", "api", [], False),
        ("site", "datadoghq.com", ["datadoghq.com", "datadoghq.eu"], False),
    ]
    assert (
        plan.base_url == "https://api.datadoghq.com/v1"
    )  # plan-format's base_url: defaults filled
    fields = {f.name: f for f in build_form(plan, plan.endpoints).flat()}
    assert (
        fields["site"].server_variable == "site"
        and fields["site"].default == "datadoghq.com"
    )
    assert "one of datadoghq.com, datadoghq.eu" in fields["site"].caption
    assert not fields["site"].required and fields["base_url"].default is None
    assert plan.to_json()["server"]["variables"][1] == {
        "name": "site",
        "default": "datadoghq.com",
        "example": False,
        "enum": ["datadoghq.com", "datadoghq.eu"],
    }


def test_a_variable_named_for_the_customer_is_an_example_host(plan_of):
    plan = plan_of(
        api(
            LIST,
            servers=[
                {
                    "url": "https://{yourOktaDomain}",
                    "variables": {"yourOktaDomain": {"default": "subdomain.okta.com"}},
                }
            ],
        )
    )
    assert plan.server.example_host and plan.server.variables[0].example
    assert "subdomain.okta.com" in plan.server.why
    field = next(
        f for f in build_form(plan, plan.endpoints).flat() if f.server_variable
    )
    assert (field.name, field.default) == ("your_okta_domain", "subdomain.okta.com")


def test_a_variable_without_default_is_a_required_field(plan_of):
    plan = plan_of(api(LIST, servers=[{"url": "https://{account}.example-api.io"}]))
    assert [(v.name, v.default) for v in plan.server.variables] == [("account", None)]
    field = next(
        f for f in build_form(plan, plan.endpoints).flat() if f.server_variable
    )
    assert field.required and field.name == "account"


def test_a_real_host_without_variables_stays_out_of_the_plan_json(plan_of):
    plan = plan_of(api(LIST, servers=[{"url": "https://api.vendor.io/v2"}]))
    assert not plan.server.example_host and plan.server.variables == []
    assert "server" not in plan.to_json()
    base = next(
        f for f in build_form(plan, plan.endpoints).flat() if f.name == "base_url"
    )
    assert base.default == "https://api.vendor.io/v2"

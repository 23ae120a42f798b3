"""runtime.delta.storage: destination URIs, storage options from the environment, masking, lock ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.delta.storage import (
    DestinationError,
    default_state_location,
    mask_options,
    parse_destination,
    table_lock_id,
    table_uri,
)


def test_local_path_becomes_absolute_and_is_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dest = parse_destination(
        "warehouse/raw", environ={"AWS_SECRET_ACCESS_KEY": "x" * 20}
    )
    assert dest.uri == str(tmp_path / "warehouse" / "raw")
    assert dest.is_local and dest.storage_options == {}
    dest.prepare()
    assert (tmp_path / "warehouse" / "raw").is_dir()
    assert dest.table_uri("stripe", "customers") == str(
        tmp_path / "warehouse/raw/stripe/customers"
    )
    assert default_state_location(dest) == str(tmp_path / "warehouse/raw/.state.db")


def test_file_uri_is_a_local_path(tmp_path):
    dest = parse_destination(f"file://{tmp_path}/wh")
    assert (dest.kind, dest.uri) == ("local", str(tmp_path / "wh"))


@pytest.mark.parametrize(
    ("text", "uri", "kind"),
    [
        ("s3://bucket/prefix/", "s3://bucket/prefix", "s3"),
        ("s3://bucket", "s3://bucket", "s3"),
        ("S3://bucket//a//b", "s3://bucket/a/b", "s3"),
        ("s3a://bucket/p", "s3a://bucket/p", "s3"),
        ("gs://bucket/p", "gs://bucket/p", "gcs"),
        ("az://container/p", "az://container/p", "azure"),
        (
            "abfss://data@account.dfs.core.windows.net/p",
            "abfss://data@account.dfs.core.windows.net/p",
            "azure",
        ),
        ("lakefs://repo/main/p", "lakefs://repo/main/p", "lakefs"),
    ],
)
def test_object_store_uris_are_normalised(text, uri, kind):
    dest = parse_destination(text, environ={})
    assert (dest.uri, dest.kind, dest.is_local) == (uri, kind, False)
    assert dest.table_uri("src", "t") == f"{uri}/src/t"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("ftp://host/x", "unsupported scheme ftp://"),
        ("s3://", "no bucket"),
        ("s3://key:secret@bucket/p", "credentials in the URI"),
        ("s3://bucket/p?X-Amz-Signature=abc", "no query string"),
        ("s3://bucket/a/../b", "'..'"),
        ("", "--dest is empty"),
    ],
)
def test_bad_destinations_fail_in_one_line_without_secrets(text, needle):
    with pytest.raises(DestinationError) as info:
        parse_destination(text, environ={})
    message = str(info.value)
    assert needle in message and "\n" not in message
    assert "key:secret" not in message and "abc" not in message


def test_s3_options_come_from_the_environment_and_overrides_win():
    environ = {
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI",
        "AWS_EMPTY": "",
        "GOOGLE_SERVICE_ACCOUNT": "/not/for/s3.json",
        "GEN_SOURCE_STORAGE_AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "GEN_SOURCE_STORAGE_AWS_REGION": "us-east-1",
        "HOME": "/root",
    }
    dest = parse_destination("s3://bucket/p", environ=environ)
    assert dest.storage_options == {
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
    }
    gcs = parse_destination("gs://bucket/p", environ=environ)
    assert gcs.storage_options == {
        "GOOGLE_SERVICE_ACCOUNT": "/not/for/s3.json",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_REGION": "us-east-1",
    }


def test_describe_and_repr_never_show_secret_values():
    environ = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI",
        "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEJr",
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
    }
    dest = parse_destination("s3://bucket/p", environ=environ)
    for text in (dest.describe(), repr(dest), str(dest)):
        assert "wJalrXUtnFEMI" not in text and "FwoGZXIvYXdzEJr" not in text
    assert "AWS_REGION=eu-west-1" in dest.describe()
    assert "AWS_SECRET_ACCESS_KEY=***" in dest.describe()
    assert (
        mask_options({"AZURE_STORAGE_ACCOUNT_KEY": "k" * 30})[
            "AZURE_STORAGE_ACCOUNT_KEY"
        ]
        == "***"
    )


def test_remote_destinations_keep_state_outside_the_bucket(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_state_location(parse_destination("s3://b/p", environ={})) == str(
        tmp_path / ".state.db"
    )


def test_table_lock_id_is_per_table_uri():
    a = table_lock_id(table_uri("s3://bucket/p", "stripe", "customers"))
    assert a.startswith("gen-source-table/stripe/customers/")
    assert a == table_lock_id("s3://bucket/p/stripe/customers/")
    assert a != table_lock_id(table_uri("s3://bucket/other", "stripe", "customers"))
    assert a != table_lock_id(table_uri("s3://bucket/p", "stripe", "charges"))
    assert (
        table_uri("s3://bucket/p/", "stripe", "customers")
        == "s3://bucket/p/stripe/customers"
    )
    assert Path(table_uri("/wh", "s", "t")) == Path("/wh/s/t")

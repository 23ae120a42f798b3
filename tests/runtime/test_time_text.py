"""RFC 2822 dates (as some APIs return them) read as times everywhere incremental values go."""

from runtime.delta.columns import datetime_bucket, later_value
from runtime.read.values import format_incremental, to_datetime


def test_rfc2822_dates_parse_and_format_as_iso():
    assert (
        to_datetime("Mon, 01 Jan 2024 10:00:00 +0000").isoformat()
        == "2024-01-01T10:00:00+00:00"
    )
    assert (
        format_incremental("Tue, 02 Jan 2024 23:30:00 -0100", "datetime")
        == "2024-01-03T00:30:00Z"
    )
    assert format_incremental("Tue, 02 Jan 2024 23:30:00 -0100", "date") == "2024-01-03"


def test_rfc2822_dates_order_as_instants_not_as_text():
    # As text "Wed" < "Tue"; as instants Wednesday is later.
    assert later_value(
        "Wed, 03 Jan 2024 10:00:00 +0000", "Tue, 02 Jan 2024 09:00:00 +0000"
    ).startswith("Wed")
    assert later_value(
        "Tue, 02 Jan 2024 09:00:00 +0000", "Wed, 03 Jan 2024 10:00:00 +0000"
    ).startswith("Wed")


def test_rfc2822_dates_bucket_into_partitions():
    assert datetime_bucket("Wed, 31 Jan 2024 23:00:00 +0000", "month") == "2024-01"

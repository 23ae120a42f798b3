"""A small in-memory resumable source for the checkpoint and object-store tests."""

from __future__ import annotations

from pydantic import BaseModel

from runtime.source.sources import (
    IncrementalField,
    ResumableSource,
    SourceConfig,
    SourceResponse,
    SourceSchema,
)

UPDATED = IncrementalField(
    field="updated", type="integer", filter_param="updated_after", label="Updated"
)


class Died(RuntimeError):
    pass


class Config(BaseModel):
    page_size: int = 2


class PagedSource(ResumableSource[Config, dict]):
    """Table `events`, two rows a page, dies before page `die_at`. Incremental on `updated`
    unless `incremental=False`; keyless unless `pk` is given."""

    config_class = Config

    def __init__(
        self, rows: list[dict], *, pk: list[str] | None = None, incremental: bool = True
    ) -> None:
        self.rows = rows
        self.pk = pk
        self.incremental = incremental
        self.die_at: int | None = None
        self.served: list[int] = []
        self.state_extra: dict = {}  # more to save with each position
        self.loaded: list[dict | None] = []  # the saved position each run started from

    def get_source_config(self):
        return SourceConfig("paged", "Paged")

    def get_schemas(self, config):
        fields = [UPDATED] if self.incremental else []
        return [SourceSchema("events", bool(fields), bool(fields), fields, self.pk)]

    def validate_credentials(self, config, schema_name=None):
        return True, None

    def source_for_pipeline(self, config, manager, inputs) -> SourceResponse:
        use = inputs.should_use_incremental_field
        last = inputs.db_incremental_field_last_value if use else None
        rows = [r for r in self.rows if last is None or r["updated"] > last]
        pages = [rows[i : i + 2] for i in range(0, len(rows), 2)]

        def items():
            saved = manager.load_state()
            self.loaded.append(saved)
            start = (saved or {}).get("page", 0)
            for index in range(start, len(pages)):
                if index == self.die_at:
                    raise Died(f"worker died before page {index}")
                self.served.append(index)
                manager.save_state({"page": index + 1, **self.state_extra})
                yield [dict(r) for r in pages[index]]

        return SourceResponse(
            name="events",
            items=items,
            primary_keys=self.pk,
            incremental_field="updated" if self.incremental else None,
        )


def rows(n: int, start: int = 1, tag: str = "v") -> list[dict]:
    return [
        {"id": i, "updated": i, "value": f"{tag}{i}"} for i in range(start, start + n)
    ]

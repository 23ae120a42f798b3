"""gen-source: OpenAPI spec -> plan -> generated connector files."""

__version__ = "0.1.0"

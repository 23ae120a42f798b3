"""Load, resolve and validate OpenAPI / Swagger documents."""

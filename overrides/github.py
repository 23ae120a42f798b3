"""GitHub quirks that are code rather than data (loaded by generated/github/github.py)."""


def transform_row(endpoint_name: str, row: dict) -> dict | None:
    if endpoint_name == "repo_issues" and row.get("pull_request"):
        # The issues list also returns pull requests (GitHub documents this); they have
        # their own table.
        return None
    if endpoint_name == "stargazers" and isinstance(row.get("user"), dict):
        # With the star media type (overrides/github.yaml) a row is {starred_at, user}:
        # lift the user's identity so `id` is the key, as in the plain list.
        user = row["user"]
        return {
            "id": user.get("id"),
            "login": user.get("login"),
            "type": user.get("type"),
            "starred_at": row.get("starred_at"),
            "user": user,
        }
    return row

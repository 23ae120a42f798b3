"""`gen-source` says which tables' paging is a guess: `confidence` in `plan --json` (never
inside `pagination`), and one warning line per such table however many other warnings there are."""

import json

from generator.cli import main
from generator.overrides import apply_overrides

from .fragments import I, S, api, arr, get, obj, q

ROW = obj(id=S, name=S)


def test_one_warning_line_per_guessed_table_and_confidence_in_the_plan(
    tmp_path, capsys
):
    paths = {
        f"/things{i}": get(arr(ROW), [q("cursor"), q("limit", I)]) for i in range(25)
    }
    paths["/sure"] = get(obj(data=arr(ROW), next_cursor=S), [q("cursor")])
    spec = tmp_path / "guessy.json"
    spec.write_text(json.dumps(api(paths)))

    assert main(["plan", str(spec), "--json", "--no-overrides", "--no-validate"]) == 0
    plan = json.loads(capsys.readouterr().out)
    guessed = [e for e in plan["endpoints"] if e.get("confidence")]
    assert len(guessed) == 25 and all(
        e["confidence"] == {"pagination": "low"} for e in guessed
    )
    assert all("confidence" not in e["pagination"] for e in plan["endpoints"])
    assert "confidence" not in next(
        e for e in plan["endpoints"] if e["path"] == "/sure"
    )

    assert main(["plan", str(spec), "--no-overrides", "--no-validate"]) == 0
    err = capsys.readouterr().err.splitlines()
    lines = [line for line in err if "pagination low confidence" in line]
    assert len(lines) == 25
    assert all(
        line.startswith("warning: GET /things") and "overrides/<source>.yaml" in line
        for line in lines
    )


def test_an_override_of_the_guess_removes_its_confidence_and_warning(tmp_path, plan_of):
    plan = plan_of(api({"/events": get(arr(ROW), [q("cursor")])}))
    assert plan.endpoints[0].confidence == {"pagination": "low"}
    data = {
        "endpoints": {
            "GET /events": {
                "pagination": {
                    "type": "cursor",
                    "cursor_param": "cursor",
                    "cursor_path": "next",
                }
            }
        }
    }
    plan = apply_overrides(plan, data, "overrides/test.yaml")
    assert plan.endpoints[0].confidence == {}
    assert not [w for w in plan.warnings if "pagination low confidence" in w.message]

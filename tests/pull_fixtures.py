"""Shared pieces of the pull tests: a scripted in-memory LRS, the source and the team ledger."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse

import pytest

import xapi_statements as xs
from conftest import DATA
from peertrain.imports.tables import read_roster
from peertrain.ledger import open_ledger
from peertrain.pull import RetryPolicy, Secret, XapiSource
from peertrain.rules.catalog import Catalogue
from peertrain.rules.loading import curricula_dir, load_catalogue
from pull_server import Reply, Request

PASSWORD = "pw-Zq8#not-in-logs"
T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


class MemoryLRS:
    """Enough of an LRS: POST-free loading, GET /xAPI/statements with since/until/limit/more."""

    def __init__(self, *, more_style="absolute", version_header=True) -> None:
        self.statements: list[dict] = []
        self.more_style, self.version_header = more_style, version_header

    def load(self, statements) -> None:
        for s in statements:
            stored = T0 + dt.timedelta(seconds=len(self.statements) + 1, microseconds=123)
            self.statements.append({**s, "stored": stored.isoformat().replace("+00:00", "Z")})

    def __call__(self, request: Request) -> Reply:
        expected = "Basic " + base64.b64encode(f"peertrain:{PASSWORD}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Reply(401, {"detail": "Invalid authentication credentials"})
        assert request.headers.get("x-experience-api-version") == "1.0.3"
        q = request.query

        def stored(s):
            return dt.datetime.fromisoformat(s["stored"])

        found = [
            s for s in self.statements
            if ("since" not in q or stored(s) > dt.datetime.fromisoformat(q["since"]))
            and ("until" not in q or stored(s) <= dt.datetime.fromisoformat(q["until"]))
        ]
        start = int(q.get("offset", 0))
        limit = int(q.get("limit", 0)) or len(found)
        page = found[start:start + limit]
        body: dict = {"statements": page}
        if start + limit < len(found):
            rest = urllib.parse.urlencode({**{k: v for k, v in q.items() if k != "offset"}, "offset": start + limit})
            body["more"] = f"/xAPI/statements?{rest}" if self.more_style == "absolute" else f"statements?{rest}"
        elif self.more_style == "empty":
            body["more"] = ""
        headers = {"X-Experience-API-Version": "1.0.3"} if self.version_header else {}
        return Reply(200, body, headers=headers)


def catalogue_with_lrs_courses() -> Catalogue:
    root = curricula_dir()
    return load_catalogue([root / "courses.toml", root / "tracks.toml", DATA / "pull" / "lrs-courses.toml"])


def xapi_source(url, *, page_size=3, env="PEERTRAIN_TEST_LRS_PASSWORD", **kwargs) -> XapiSource:
    return XapiSource(
        name="pinelake-lrs", endpoint=f"{url}/xAPI", username="peertrain", password=Secret(f"env:{env}"),
        hours_extension=xs.HOURS, page_size=page_size,
        policy=kwargs.pop("policy", RetryPolicy(connect_timeout=2, read_timeout=2, attempts=3, backoff=0.01)),
        **kwargs,
    )


@pytest.fixture
def team_ledger(tmp_path, monkeypatch):
    monkeypatch.setenv("PEERTRAIN_TEST_LRS_PASSWORD", PASSWORD)
    ledger = open_ledger(tmp_path / "team.db", create_timezone="America/Chicago")
    ledger.put_members(read_roster(curricula_dir() / "demo" / "roster.csv"))
    yield ledger
    ledger.close()

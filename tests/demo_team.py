"""The bundled demo team evaluated as of its date, with its schedule: shared by the calendar and
server tests."""

from __future__ import annotations

from typing import Any

from peertrain import check_compliance, load_bundled_catalogue, load_pack, read_completions, read_roster, read_waivers
from peertrain.calendars import Feed, FeedOptions, build_feed
from peertrain.calendars.schedule import load_schedule
from peertrain.rules.loading import curricula_dir, read_toml
from peertrain.rules.privacy import Privacy

DEMO = curricula_dir() / "demo"


class Demo:
    """The demo's catalogue, members, completions, packs, verdicts and schedule."""

    def __init__(self) -> None:
        self.catalogue = load_bundled_catalogue()
        config = read_toml(DEMO / "demo.toml")
        self.members = read_roster(DEMO / config["roster"])
        self.completions = read_completions(DEMO / config["completions"], self.catalogue, self.members)
        self.packs = [load_pack(p, self.catalogue) for p in config["packs"]]
        waivers = read_waivers(DEMO / config["exemptions"], self.members)
        self.result = check_compliance(
            self.members, self.completions, self.packs, config["as_of"], catalogue=self.catalogue, waivers=waivers
        )
        self.schedule = load_schedule(DEMO / "sessions.toml", self.catalogue)

    def feed(self, feed: str = "team", privacy: str | Privacy = Privacy.FULL, **options: Any) -> bytes:
        """``build_feed`` of one demo feed, serialised."""
        calendar = build_feed(
            Feed.parse(feed), catalogue=self.catalogue, schedule=self.schedule, result=self.result,
            members=self.members, packs=self.packs, completions=self.completions,
            options=FeedOptions(privacy=Privacy(privacy), **options),
        )
        return bytes(calendar.to_ical())

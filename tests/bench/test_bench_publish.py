"""The publish workload at a tiny size, so ``make test`` notices when ``make bench`` breaks:
it runs and measures, never that a goal is met (at this size the figures mean nothing)."""

from __future__ import annotations

from bench import publish
from bench.__main__ import config_from, parser
from bench.config import Config


async def test_publish_matches_queues_and_measures_against_bare_inserts() -> None:
    [outcome] = await publish.run(Config(audience=500))
    assert outcome.status == "ok", outcome.reason
    figures = {row.figure: row.value for row in outcome.rows}
    assert set(figures) == {
        "matched and queued, s",
        "offers queued per second",
        "bare executemany of the same rows, s",
        "speed against the bare inserts",
    }
    assert all(value is not None and value > 0 for value in figures.values())


def test_the_audience_is_a_million_unless_asked_otherwise() -> None:
    assert config_from(parser().parse_args(["publish"])).audience == 1_000_000
    assert config_from(parser().parse_args(["publish", "--quick"])).audience == 100_000
    assert config_from(parser().parse_args(["--audience", "7"])).audience == 7

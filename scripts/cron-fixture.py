#!/usr/bin/env python3
"""Generate Tests/BatonCronTests/Fixtures/cron-fixture.json: random cron expressions and time
zones with a start instant and the next fire times each, computed with croniter, for the
differential test of BatonCron (Tests/BatonCronTests/CronFixtureTests.swift).

Run by hand (CI only reads the committed fixture):

    python3 -m venv .build-cron/venv
    .build-cron/venv/bin/pip install croniter==7.0.0
    .build-cron/venv/bin/python scripts/cron-fixture.py            # writes the fixture

Options: --cases N (default 6000), --seed S (default 25), --out PATH.

What croniter computes and what this script computes itself
----------------------------------------------------------
croniter runs on naive datetimes, i.e. on the wall clock: it gives the sequence of local
times that an expression matches (fields, names, ranges, lists, steps, the day-of-month /
day-of-week OR, 6 fields with seconds first via second_at_beginning=True). That sequence is
what is differentially tested.

The mapping of those local times to instants in the zone is the contract's DST rule, applied
here with zoneinfo, NOT croniter's own time-zone handling, because the two differ:

  * expressions whose hour field allows every hour (e.g. "*/15 * * * *") run on real time:
    every instant whose local time matches fires (a repeated hour fires twice, a skipped
    hour fires nothing). croniter agrees;
  * other expressions fire once per matching local time: a repeated local time at its
    first occurrence, a skipped one at the first instant after the gap. croniter fires a
    repeated fixed time twice (e.g. "30 1 * * *" at 01:30 EDT and 01:30 EST).

For every case the script also asks croniter with an aware start and counts the cases whose
fire times differ from the contract's; the count and a few examples go into the fixture's
"croniter_aware" entry (information only, the test does not read it).

Excluded from the random set (their meaning differs, so the hand-written Swift tests cover
them instead): equal ranges "a-a" (croniter reads them as the whole field, we as a), stepped
ranges that wrap (croniter's step restarts off by one after the wrap in some cases; any
field whose croniter expansion differs from the expansion BatonCron documents is dropped,
and counted), "?", "L", "W", "#", "H", and "@every" (croniter has none; it is plain
arithmetic, tested by hand).

Time zones: UTC plus zones with DST in both hemispheres, half-hour and 45-minute offsets and
DST shifts, and zones without DST. Start instants are in 2020-2035, half of them within a
few hours of one of the zone's transitions. zoneinfo (Python's tz database) and Foundation
(ICU's copy) may disagree for some zone or year, so the fixture also lists each zone's
transitions in 2019-2037; the Swift test checks those first, so a data mismatch shows up as
such and not as a cron bug.
"""

import argparse
import bisect
import importlib.metadata
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter

CRONITER_VERSION = "7.0.0"
FIRES_PER_CASE = 6
ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",  # -03:30 / -02:30
    "America/Sao_Paulo",  # no DST since 2019
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",  # +05:30, no DST
    "Asia/Kathmandu",  # +05:45
    "Australia/Sydney",  # southern hemisphere
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Pacific/Auckland",
    "Pacific/Chatham",  # +12:45 / +13:45
]
START = int(datetime(2020, 1, 1, tzinfo=timezone.utc).timestamp())
END = int(datetime(2035, 1, 1, tzinfo=timezone.utc).timestamp())
TRANSITIONS_FROM = int(datetime(2019, 1, 1, tzinfo=timezone.utc).timestamp())
TRANSITIONS_TO = int(datetime(2037, 1, 1, tzinfo=timezone.utc).timestamp())
NAIVE_EPOCH = datetime(1970, 1, 1)


class Field:
    def __init__(self, name, low, high, names=(), written_high=None):
        self.name, self.low, self.high = name, low, high
        self.names = names
        self.written_high = high if written_high is None else written_high

    @property
    def size(self):
        return self.high - self.low + 1


SECOND = Field("second", 0, 59)
MINUTE = Field("minute", 0, 59)
HOUR = Field("hour", 0, 23)
DOM = Field("dom", 1, 31)
MONTH = Field("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
DOW = Field("dow", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat"), written_high=7)


# --- the expansion BatonCron documents (CronExpression.swift), to drop fields croniter reads otherwise


def documented_values(field, text):
    values = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        step = int(step) if step else 1
        if base == "*":
            values.update(range(field.low, field.high + 1, step))
            continue
        if "-" in base:
            a, b = (parse_value(field, v) for v in base.split("-"))
        else:
            a = parse_value(field, base)
            if not step_given(item):
                values.add(0 if field is DOW and a == 7 else a)
                continue
            a, b = (0 if field is DOW and a == 7 else a), field.high
        if a <= b:
            values.update(0 if field is DOW and v == 7 else v for v in range(a, b + 1, step))
            continue
        if field is DOW and a == 7:
            a = 0
        if a <= b:
            values.update(range(a, b + 1, step))
            continue
        length = b - a + field.size
        values.update(field.low + (a - field.low + k) % field.size for k in range(0, length + 1, step))
    return values


def step_given(item):
    return "/" in item


def parse_value(field, text):
    if text.isdigit():
        return int(text)
    return field.low + field.names.index(text.lower())


def croniter_values(field_index, field, expression_fields):
    expanded, _ = croniter.expand(" ".join(expression_fields), second_at_beginning=True)
    # croniter keeps seconds last internally when given six fields.
    order = [5, 0, 1, 2, 3, 4] if len(expression_fields) == 6 else [0, 1, 2, 3, 4]
    got = expanded[order[field_index]]
    if got == ["*"]:
        return set(range(field.low, field.high + 1))
    return set(got)


# --- random expressions


def write_value(field, value, rng):
    if field.names and rng.random() < 0.35 and field.low <= value <= field.high:
        name = field.names[value - field.low]
        return rng.choice([name, name.upper(), name.capitalize()])
    return str(value)


def random_value(field, rng):
    high = field.written_high
    if field is HOUR and rng.random() < 0.4:
        return rng.randint(0, 4)  # near the hours DST changes happen at
    return rng.randint(field.low, high)


def random_item(field, rng, allow_star=True):
    kind = rng.choices(
        ["star", "value", "range", "range_step", "star_step", "start_step"],
        weights=[3 if allow_star else 0, 4, 3, 2, 2, 1],
    )[0]
    step = rng.randint(1, min(field.size, 12)) if rng.random() < 0.8 else rng.randint(1, field.size)
    if kind == "star":
        return "*"
    if kind == "star_step":
        return f"*/{step}"
    a = random_value(field, rng)
    if kind == "value":
        return write_value(field, a, rng)
    if kind == "start_step":
        return f"{write_value(field, a, rng)}/{step}"
    b = random_value(field, rng)
    if a == b or (field is DOW and {a, b} == {0, 7}) or (field is DOW and a % 7 == b % 7):
        return write_value(field, a, rng)  # equal ranges mean different things (see docstring)
    if b < a and rng.random() < 0.7:
        a, b = b, a  # mostly plain ranges, some wrapping ones
    text = f"{write_value(field, a, rng)}-{write_value(field, b, rng)}"
    return f"{text}/{step}" if kind == "range_step" else text


def random_field(field, rng, star_weight):
    if rng.random() < star_weight:
        return "*"
    count = rng.choices([1, 2, 3, 4], weights=[6, 2, 1, 1])[0]
    if count == 1:
        return random_item(field, rng, allow_star=False)
    return ",".join(random_item(field, rng, allow_star=False) for _ in range(count))


MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@DAILY", "@Hourly"]


def random_expression(rng, stats, dst_hours=None):
    """A random expression; with `dst_hours`, one whose hours include one of them and whose
    days are mostly unrestricted, so that it fires around a DST transition."""
    while True:
        if rng.random() < 0.05 and dst_hours is None:
            return rng.choice(MACROS)
        six = rng.random() < 0.3
        fields = [MINUTE, HOUR, DOM, MONTH, DOW]
        stars = [0.25, 0.35, 0.6, 0.65, 0.6] if dst_hours is None else [0.3, 0.3, 0.9, 0.9, 0.9]
        if six:
            fields = [SECOND] + fields
            stars = [0.2] + stars
        texts = [random_field(f, rng, s) for f, s in zip(fields, stars)]
        ok = True
        for index, (field, text) in enumerate(zip(fields, texts)):
            if croniter_values(index, field, texts) != documented_values(field, text):
                stats["dropped: croniter expands a field otherwise"] += 1
                stats.setdefault("examples: croniter expands a field otherwise", [])
                if len(stats["examples: croniter expands a field otherwise"]) < 5:
                    stats["examples: croniter expands a field otherwise"].append(f"{field.name} {text!r}")
                ok = False
                break
        if not ok:
            continue
        if dst_hours is not None and not documented_values(HOUR, texts[-4]) & dst_hours:
            continue
        if never_fires(fields, texts):
            stats["dropped: never fires"] += 1
            continue
        return " ".join(texts)


def never_fires(fields, texts):
    by = {f.name: t for f, t in zip(fields, texts)}
    dom, dow = documented_values(DOM, by["dom"]), documented_values(DOW, by["dow"])
    dom_free = by["dom"] == "*" or (len(dom) == 31 and "*" in by["dow"])
    dow_free = by["dow"] == "*" or (len(dow) == 7 and "*" in by["dom"])
    if dom_free or not dow_free:
        return False
    months = documented_values(MONTH, by["month"])
    longest = max([29 if m == 2 else 30 if m in (4, 6, 9, 11) else 31 for m in months])
    return min(dom) > longest


# --- time zones


def offset(zone, instant):
    return int(datetime.fromtimestamp(instant, zone).utcoffset().total_seconds())


def transitions(zone):
    """(instant, offset from then on) for each change of the zone's offset."""
    found = []
    step = 6 * 3600
    previous = offset(zone, TRANSITIONS_FROM)
    t = TRANSITIONS_FROM
    while t < TRANSITIONS_TO:
        nxt = t + step
        now = offset(zone, nxt)
        if now != previous:
            lo, hi = t, nxt  # offset(lo) == previous, offset(hi) != previous
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(zone, mid) == previous:
                    lo = mid
                else:
                    hi = mid
            found.append((hi, offset(zone, hi)))
            previous = offset(zone, hi)
        t = nxt
    return found


def wall_seconds(naive):
    return int((naive - NAIVE_EPOCH).total_seconds())


def local_of(zone, instant):
    return datetime.fromtimestamp(instant, zone).replace(tzinfo=None)


def instants_of(zone, wall):
    """The instants showing local time `wall`: one, two (repeated), or none (skipped)."""
    found = set()
    for fold in (0, 1):
        x = int(wall.replace(tzinfo=zone, fold=fold).timestamp())
        if local_of(zone, x) == wall:
            found.add(x)
    return sorted(found)


def gap_end(zone, wall):
    """The first instant whose local time is past `wall` (a local time in a gap)."""
    a = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    b = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    lo, hi = min(a, b), max(a, b)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if local_of(zone, mid) > wall:
            hi = mid
        else:
            lo = mid
    return hi


def fires_every_hour(expression):
    expanded, _ = croniter.expand(expression, second_at_beginning=True)
    hours = expanded[1]
    return hours == ["*"] or len(set(hours)) == 24


def contract_fires(expression, zone, after, count):
    """The first `count` fire times after `after` by the contract's rule (docstring)."""
    every_hour = fires_every_hour(expression)
    start = local_of(zone, after) - timedelta(hours=4)
    walls = croniter(expression, start, second_at_beginning=True)
    found = set()
    while True:
        wall = walls.get_next(datetime)
        xs = instants_of(zone, wall)
        if every_hour:
            new = xs
        else:
            new = xs[:1] if xs else [gap_end(zone, wall)]
        found.update(x for x in new if x > after)
        if len(found) >= count:
            nth = sorted(found)[count - 1]
            highest_offset = max(offset(zone, nth + d) for d in (-2 * 86400, 0, 2 * 86400))
            # A later local time shows at an instant >= its wall time - the highest offset.
            if wall_seconds(wall) - highest_offset > nth:
                return sorted(found)[:count]


def croniter_aware_fires(expression, zone, after, count):
    it = croniter(expression, datetime.fromtimestamp(after, zone), second_at_beginning=True)
    return [int(it.get_next(datetime).timestamp()) for _ in range(count)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent.parent / "Tests/BatonCronTests/Fixtures/cron-fixture.json"),
    )
    args = parser.parse_args()

    installed = importlib.metadata.version("croniter")
    if installed != CRONITER_VERSION:
        sys.exit(f"croniter {installed} is installed; this fixture is pinned to {CRONITER_VERSION}")

    rng = random.Random(args.seed)
    zones = {name: ZoneInfo(name) for name in ZONES}
    zone_transitions = {name: transitions(zone) for name, zone in zones.items()}
    stats = {"dropped: croniter expands a field otherwise": 0, "dropped: never fires": 0}
    disagreements = {"cases": 0, "examples": []}
    cases = []
    while len(cases) < args.cases:
        name = rng.choice(ZONES)
        zone = zones[name]
        near = [t for t, _ in zone_transitions[name] if START <= t < END]
        if near and rng.random() < 0.5:
            transition = rng.choice(near)
            after = transition + rng.randint(-3 * 3600, 2 * 3600)
            around = {local_of(zone, transition + d).hour for d in (-3600, -1, 0, 3600)}
            expression = random_expression(rng, stats, around if rng.random() < 0.6 else None)
        else:
            after = rng.randint(START, END)
            expression = random_expression(rng, stats)
        if rng.random() < 0.1:
            # Start exactly on a fire time: the next one is strictly after it.
            after = contract_fires(expression, zone, after, 1)[0]
        fires = contract_fires(expression, zone, after, FIRES_PER_CASE)
        cases.append({"cron": expression, "zone": name, "after": after, "fires": fires})
        if croniter_aware_fires(expression, zone, after, FIRES_PER_CASE) != fires:
            disagreements["cases"] += 1
            if len(disagreements["examples"]) < 8:
                disagreements["examples"].append(
                    {"cron": expression, "zone": name, "after": after,
                     "croniter": croniter_aware_fires(expression, zone, after, FIRES_PER_CASE), "contract": fires})

    tzdata = Path("/usr/share/zoneinfo/tzdata.zi")
    tz_version = tzdata.read_text().split("\n")[0].removeprefix("# version ") if tzdata.exists() else "tzdata package"
    document = {
        "generator": "scripts/cron-fixture.py",
        "croniter": CRONITER_VERSION,
        "tzdata": tz_version,
        "seed": args.seed,
        "fires_per_case": FIRES_PER_CASE,
        "random_set": stats,
        "croniter_aware": disagreements,
        "transitions": {name: [list(t) for t in ts] for name, ts in zone_transitions.items()},
        "cases": cases,
    }
    # One case per line keeps the file diffable.
    lines = json.dumps({k: v for k, v in document.items() if k != "cases"}, indent=1)[:-2]
    body = ",\n".join(json.dumps(case, separators=(",", ":")) for case in cases)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(lines + ',\n "cases": [\n' + body + "\n ]\n}\n")
    print(f"{len(cases)} cases -> {args.out}", file=sys.stderr)
    print(json.dumps(stats, indent=1), file=sys.stderr)
    print(f"croniter (aware) disagrees with the contract's DST rule on {disagreements['cases']} cases", file=sys.stderr)


if __name__ == "__main__":
    main()

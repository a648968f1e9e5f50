#!/usr/bin/env python3
"""Fails when an #include runs against herd's layering (docs/ARCHITECTURE.md):

    app -> {edge, peer, api, metrics} -> {fences, webhooks} -> {store, places, proto}
        -> common

A library may include its own headers and those of any layer below it, never
one of its own layer or above. tests/ and bench/ may include anything.

Usage: check_layering.py SOURCE_ROOT    (exit 0: clean; 1: violations listed)
"""
import pathlib
import re
import sys

LAYERS = {
    "common": 0,
    "store": 1, "places": 1, "proto": 1, "herd": 1,  # herd/v1/*.pb.h: proto's
    "fences": 2, "webhooks": 2,
    "edge": 3, "peer": 3, "api": 3, "metrics": 3,
    "app": 4,
}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"/]+)/')
SUFFIXES = {".h", ".cc", ".cpp", ".hpp", ".proto"}
PROTO_IMPORT = re.compile(r'^\s*import\s+"([^"/]+)/')


def library_of(top):
    return "proto" if top == "herd" else top


def main(root):
    root = pathlib.Path(root)
    violations = []
    for lib, layer in LAYERS.items():
        base = root / lib
        if lib == "herd" or not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            pattern = PROTO_IMPORT if path.suffix == ".proto" else INCLUDE
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                match = pattern.match(line)
                if not match or match.group(1) not in LAYERS:
                    continue  # a system or third-party header
                target = library_of(match.group(1))
                if target == lib:
                    continue
                if LAYERS[target] >= layer:
                    violations.append(
                        f"{path.relative_to(root)}:{number}: {lib} (layer {layer}) includes "
                        f"{target} (layer {LAYERS[target]}): {line.strip()}")
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} include(s) against the layering "
              "app -> edge/peer/api/metrics -> fences/webhooks -> store/places/proto -> common", file=sys.stderr)
        return 1
    print("layering clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))

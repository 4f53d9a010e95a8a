#!/usr/bin/env python3
"""Compare two `plumbline scan --format json` documents (Linux and Windows).

The register must be the same: the same connectors and the same findings,
field for field, and the same plugins with the same identity and status.
Timings and scan times are allowed to differ.
"""
import json
import sys


def plugins(doc):
    return sorted(
        (p["name"], p.get("version"), p.get("sha256"), p["status"], p["connectors"], p["findings"])
        for p in doc["plugins"]
    )


def main(linux_path, windows_path):
    with open(linux_path, encoding="utf-8") as f:
        linux = json.load(f)
    with open(windows_path, encoding="utf-8") as f:
        windows = json.load(f)
    problems = []
    for key in ("connectors", "findings"):
        if linux[key] != windows[key]:
            a = {json.dumps(x, sort_keys=True) for x in linux[key]}
            b = {json.dumps(x, sort_keys=True) for x in windows[key]}
            problems.append(f"{key} differ: only on Linux {sorted(a - b)[:3]}, only on Windows {sorted(b - a)[:3]}")
    if plugins(linux) != plugins(windows):
        problems.append(f"plugins differ: {plugins(linux)} vs {plugins(windows)}")
    if not linux["connectors"] or not linux["findings"]:
        problems.append("the Linux register is empty; nothing was compared")
    if problems:
        print("compare_registers: MISMATCH\n  " + "\n  ".join(problems))
        return 1
    print(f"compare_registers: same register on Linux and Windows: "
          f"{len(linux['connectors'])} connectors, {len(linux['findings'])} findings, "
          f"{len(linux['plugins'])} plugins")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

#!/usr/bin/env python3
"""README.md's metrics table must be what the catalog prints.

usage: readme_metrics_check.py GORO_METRICS_TABLE README.md [--write]

The table sits between <!-- metrics-table:begin --> and
<!-- metrics-table:end --> in README.md; --write replaces it with the
tool's output (how to update it after changing the catalog).
"""
import difflib
import subprocess
import sys

BEGIN = "<!-- metrics-table:begin -->\n"
END = "<!-- metrics-table:end -->\n"


def main():
    tool, readme = sys.argv[1], sys.argv[2]
    table = subprocess.run([tool], check=True, capture_output=True, text=True).stdout
    text = open(readme, encoding="utf-8").read()
    if BEGIN not in text or END not in text:
        print(f"{readme}: no {BEGIN.strip()} ... {END.strip()} markers")
        return 1
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    if "--write" in sys.argv[3:]:
        open(readme, "w", encoding="utf-8").write(head + BEGIN + table + END + tail)
        return 0
    if current == table:
        print("README metrics table matches the catalog")
        return 0
    print("README.md's metrics table differs from the catalog; update it with")
    print(f"  {sys.argv[0]} {tool} {readme} --write")
    sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), table.splitlines(True),
                                               "README.md", "catalog"))
    return 1


if __name__ == "__main__":
    sys.exit(main())

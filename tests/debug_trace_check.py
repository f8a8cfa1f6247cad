#!/usr/bin/env python3
"""Strict structural check of a Chrome trace-event JSON file (the format
debug/trace.cpp writes; ../shared/reference/formats.md section 4.5):
valid JSON; integer pid/tid and numeric ts; X slices with dur >= 0 that
nest on each track (no partial overlap); B/E balanced per track;
timestamps non-decreasing per track in file order; every flow start 's'
has exactly one end 'f' with the same (cat, name, id) and vice versa, the
start inside a slice of its track, the end with "bp":"e" inside a slice of
its track (Perfetto's JSON importer binds it to that enclosing slice), and
both ends bound (the deepest slice open at their time, slices being
[ts, ts+dur)) to a task run or a blocking call, never to a GC pause;
blocking calls only on the tracks of threads without a P; numeric counter
series; named tracks.
Prints what is wrong and exits 1; exits 0 when the trace is sound.

Usage: debug_trace_check.py TRACE.json [--expect-gc] [--min-tasks N]
           [--arrows-into NAME]... [--arrows-out-of NAME]...
  --arrows-into NAME: there are slices whose name contains NAME, and an
      arrow ends at every one of them (no spawn, wake-up or hand-off that
      led to it was dropped).
  --arrows-out-of NAME: likewise, an arrow starts from every such slice.
"""
import json
import sys
from collections import defaultdict


def main():
    path = sys.argv[1]
    expect_gc = "--expect-gc" in sys.argv
    min_tasks = 0
    if "--min-tasks" in sys.argv:
        min_tasks = int(sys.argv[sys.argv.index("--min-tasks") + 1])
    arrows_into = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--arrows-into"]
    arrows_out_of = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--arrows-out-of"]
    errors = []
    with open(path) as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    last_ts = {}
    slices = defaultdict(list)
    stacks = defaultdict(list)
    flows_s = {}
    flows_f = {}
    named = {}
    tasks = set()
    gc = 0
    for i, e in enumerate(events):
        ph = e.get("ph")
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            errors.append(f"event {i}: pid/tid not integers: {e}")
            continue
        track = (e["pid"], e["tid"])
        if ph == "M":
            if e["name"] == "thread_name":
                named[track] = e.get("args", {}).get("name", "")
            if "name" not in e.get("args", {}) and "sort_index" not in e.get("args", {}):
                errors.append(f"event {i}: metadata without args.name/sort_index")
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)):
            errors.append(f"event {i}: ts not a number")
            continue
        if ph != "C":
            if track in last_ts and ts < last_ts[track]:
                errors.append(f"event {i} ({e.get('name')}): ts {ts} before {last_ts[track]} on {track}")
            last_ts[track] = ts
        if ph == "X":
            dur = e.get("dur")
            if not isinstance(dur, (int, float)) or dur < 0:
                errors.append(f"event {i}: X without dur >= 0")
                continue
            # ts and dur print 3 decimals: rounding the sum drops float noise
            # (59014.149000000005 would overlap a slice that starts at 59014.149).
            slices[track].append((ts, round(ts + dur, 6), e["name"], e.get("cat")))
            if e.get("cat") == "task":
                tasks.add(e.get("args", {}).get("task"))
            if e.get("cat") == "gc":
                gc += 1
        elif ph == "B":
            stacks[track].append(e)
        elif ph == "E":
            if not stacks[track]:
                errors.append(f"event {i}: E without B on {track}")
            else:
                stacks[track].pop()
        elif ph == "s":
            key = (e.get("cat"), e.get("name"), e.get("id"))
            if key in flows_s:
                errors.append(f"event {i}: flow start {key} twice")
            flows_s[key] = (track, ts)
        elif ph == "f":
            key = (e.get("cat"), e.get("name"), e.get("id"))
            if key in flows_f:
                errors.append(f"event {i}: flow end {key} twice")
            if e.get("bp") != "e":
                # Without "bp":"e" Perfetto and chrome://tracing bind the end
                # to the next slice that begins, not the run it points at.
                errors.append(f"event {i}: flow end {key} without \"bp\":\"e\"")
            if not isinstance(e.get("id"), int):
                errors.append(f"event {i}: flow id {e.get('id')!r} is not an integer")
            flows_f[key] = (track, ts)
        elif ph == "C":
            for k, v in e.get("args", {}).items():
                if not isinstance(v, (int, float)):
                    errors.append(f"event {i}: counter {e['name']}.{k} not numeric")
        else:
            errors.append(f"event {i}: unexpected ph {ph!r}")
    for track, st in stacks.items():
        if st:
            errors.append(f"{len(st)} B without E on {track}")
    for track, v in slices.items():
        if track not in named:
            errors.append(f"track {track} has slices but no thread_name")
        v.sort(key=lambda s: (s[0], -s[1]))
        open_ = []
        for s in v:
            while open_ and open_[-1][1] <= s[0]:
                open_.pop()
            if open_ and s[1] > open_[-1][1] + 1e-6:
                errors.append(f"partial overlap on {track}: {open_[-1]} vs {s}")
            open_.append(s)
            if s[3] == "blocking" and not named.get(track, "").startswith(
                    ("blocking thread ", "locked M ")):
                errors.append(f"blocking call {s[2]!r} on {named.get(track)!r}, not a blocking "
                              "thread's track")

    # The slice each flow event binds to: the deepest open at its time (the
    # one that started last, slices nesting); one sweep per track.
    queries = defaultdict(list)
    for key, (track, ts) in flows_s.items():
        queries[track].append((ts, "s", key))
    for key, (track, ts) in flows_f.items():
        queries[track].append((ts, "f", key))
    bound = {}
    for track, qs in queries.items():
        v = sorted(slices[track], key=lambda s: (s[0], -s[1]))
        stack = []
        i = 0
        for ts, ph, key in sorted(qs, key=lambda q: q[0]):
            while i < len(v) and v[i][0] <= ts:
                while stack and stack[-1][1] <= v[i][0]:
                    stack.pop()
                stack.append(v[i])
                i += 1
            while stack and stack[-1][1] <= ts:
                stack.pop()
            bound[(ph, key)] = stack[-1] if stack else None

    ends_at = defaultdict(int)
    starts_at = defaultdict(int)
    for key, (track, ts) in flows_s.items():
        if key not in flows_f:
            errors.append(f"flow {key} has a start but no end")
        elif flows_f[key][1] < ts:
            errors.append(f"flow {key} ends before it starts")
        b = bound[("s", key)]
        if b is None:
            errors.append(f"flow start {key} at {ts} is in no slice of {track}")
        elif b[3] not in ("task", "blocking"):
            errors.append(f"flow start {key} at {ts} binds to {b[2]!r} on {track}, not to a run")
        if b is not None:
            starts_at[(track, b[0], b[2])] += 1
    for key, (track, ts) in flows_f.items():
        if key not in flows_s:
            errors.append(f"flow {key} has an end but no start")
        b = bound[("f", key)]
        if b is None:
            errors.append(f"flow end {key} at {ts} is in no slice of {track} (bp:e binds "
                          "it to the enclosing slice)")
        elif b[3] not in ("task", "blocking"):
            errors.append(f"flow end {key} at {ts} binds to {b[2]!r} on {track}, not to a run")
        if b is not None:
            ends_at[(track, b[0], b[2])] += 1
    for want, counts, what in ((arrows_into, ends_at, "ends at"), (arrows_out_of, starts_at,
                                                                 "starts from")):
        for name in want:
            found = [(track, s) for track, v in slices.items() for s in v if name in s[2]]
            if not found:
                errors.append(f"no slice named like {name!r}")
            for track, s in found:
                if counts[(track, s[0], s[2])] == 0:
                    errors.append(f"no arrow {what} {s[2]!r} at {s[0]} on {named.get(track)!r}")
    if len(tasks) < min_tasks:
        errors.append(f"only {len(tasks)} distinct tasks in run slices, want >= {min_tasks}")
    if expect_gc and gc == 0:
        errors.append("no GC pause slices")
    if not flows_s:
        errors.append("no flows")
    for e in errors[:50]:
        print("ERROR:", e)
    if errors:
        print(f"{path}: {len(errors)} error(s)")
        return 1
    print(f"{path}: OK ({len(events)} events, {len(tasks)} tasks, {len(flows_s)} flows, {gc} GC slices)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

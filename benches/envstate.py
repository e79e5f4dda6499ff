#!/usr/bin/env python3
"""Reads the ENVTRACK_STATE a benchmark's process was handed, so that a
benchmark can check the library really tracked what it set up (a figure
measured in a tree the library never saw would look cheap and mean nothing).

The encoding is model/src/codec.rs (the records) and model/src/state_env.rs
(how a long state is split over ENVTRACK_STATE, ENVTRACK_STATE_1, …). Only
what the benchmarks need is read: which records there are and whose names.

    python3 benches/envstate.py FILE

FILE holds an environment as `env -0` writes it. Prints the names of the
tracked records (S, U, L and T records: the tracked changes), one a line.
Exits 2 if the environment holds no state, 1 if the state is malformed.
"""

import sys

STATE = b"ENVTRACK_STATE"
TRACKED = b"SULT"  # the record types that are tracked changes


def parse_environment(data):
    """NAME=VALUE entries (bytes, NUL-separated) as a dict, first one wins."""
    env = {}
    for entry in data.split(b"\0"):
        name, sep, value = entry.partition(b"=")
        if sep and name not in env:
            env[name] = value
    return env


def state_of(env):
    """The encoded state from a dict of bytes, parts joined; None if absent."""
    head = env.get(STATE)
    if head is None:
        return None
    if not head.startswith(b"+"):
        return head
    # +<parts>,<length>,<fnv64 hex>;<chunk 0>, then ENVTRACK_STATE_1 …
    header, sep, chunk = head[1:].partition(b";")
    fields = header.split(b",")
    if not sep or len(fields) != 3:
        raise ValueError("malformed split-state header")
    parts, length = int(fields[0]), int(fields[1])
    chunks = [chunk]
    for i in range(1, parts):
        part = env.get(STATE + b"_%d" % i)
        if part is None:
            raise ValueError(f"split state: part {i} of {parts} is missing")
        chunks.append(part)
    state = b"".join(chunks)
    if len(state) != length:
        raise ValueError(f"split state: {len(state)} bytes, the header says {length}")
    return state


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def byte(self):
        if self.at >= len(self.data):
            raise ValueError(f"state ends inside a record (byte {self.at})")
        b = self.data[self.at : self.at + 1]
        self.at += 1
        return b

    def count(self, end):
        stop = self.data.find(end, self.at)
        if stop < 0:
            raise ValueError(f"no {end!r} after a count at byte {self.at}")
        digits = self.data[self.at : stop]
        if not digits.isdigit():
            raise ValueError(f"bad count {digits!r} at byte {self.at}")
        self.at = stop + 1
        return int(digits)

    def field(self):
        n = self.count(b":")
        if self.at + n > len(self.data):
            raise ValueError(f"field runs past the end (byte {self.at})")
        value = self.data[self.at : self.at + n]
        self.at += n
        return value


def records(state):
    """(type, name) for every record; name is None for the owner record."""
    if not state.startswith(b"ET1;"):
        raise ValueError(f"not an ET1 state: {state[:20]!r}")
    r = Reader(state)
    r.at = 4
    out = []
    while r.at < len(state):
        kind = r.byte()
        if kind in (b"S", b"U"):
            out.append((kind, r.field()))
        elif kind == b"L":
            r.byte()  # the list separator
            r.count(b",")
            r.count(b",")
            out.append((kind, r.field()))
        elif kind in (b"T", b"J", b"A"):
            r.byte()  # op
            r.byte()  # separator
            name = r.field()
            r.field()  # value
            out.append((kind, name))
        elif kind == b"O":
            r.field()
            out.append((kind, None))
        else:
            raise ValueError(f"unknown record type {kind!r} at byte {r.at - 1}")
    return out


def tracked_names(state):
    return [name for kind, name in records(state) if kind in TRACKED]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        env = parse_environment(f.read())
    try:
        state = state_of(env)
        if state is None:
            print(f"{sys.argv[1]}: no ENVTRACK_STATE in the environment", file=sys.stderr)
            sys.exit(2)
        names = tracked_names(state)
    except ValueError as e:
        print(f"{sys.argv[1]}: ENVTRACK_STATE: {e}", file=sys.stderr)
        sys.exit(1)
    for name in names:
        sys.stdout.buffer.write(name + b"\n")


if __name__ == "__main__":
    main()

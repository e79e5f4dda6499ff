#!/usr/bin/env python3
"""Assembles envtrack's wheel from an installed PREFIX tree and the Python package.

Called by scripts/wheel.sh. Written by hand, with the standard library alone: the
wheel is a zip of files already built (a build backend would rebuild them, and
maturin's layout cannot place the library beside the programs as PREFIX/lib).

    PREFIX/bin/*, PREFIX/lib/*  -> envtrack-VERSION.data/scripts/  (pip: the environment's bin)
    PREFIX/share                -> envtrack-VERSION.data/data/     (pip: the environment's prefix)
    python/envtrack/            -> envtrack/                       (site-packages)

The library goes beside envtrack-inject, where each finds the other: pip's --target
keeps the scripts directory but drops a data file under lib/ (its own purelib is
there), so PREFIX/lib would not survive every kind of install.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
import time
import zipfile

TAG = "py3-none-manylinux_2_17_x86_64"
SUMMARY = "Environment variables a program sets, carried to every child and through mpirun, srun, ssh, Dask and Ray to every worker"


def metadata(version: str, readme: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        "Name: envtrack",
        "Version: " + version,
        "Summary: " + SUMMARY,
        "License: MIT OR Apache-2.0",
        "Requires-Python: >=3.8",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Programming Language :: Python :: 3",
        "Classifier: Topic :: System :: Distributed Computing",
        "Provides-Extra: dask",
        'Requires-Dist: distributed; extra == "dask"',
        "Provides-Extra: ray",
        'Requires-Dist: ray; extra == "ray"',
        "Description-Content-Type: text/markdown",
    ]
    return "\n".join(lines) + "\n\n" + readme


def wheel_file() -> str:
    return "Wheel-Version: 1.0\nGenerator: envtrack scripts/wheel.py\nRoot-Is-Purelib: false\nTag: {}\n".format(TAG)


def files_under(root: str):
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")):
                yield os.path.join(directory, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", required=True)
    parser.add_argument("--prefix", required=True, help="a tree laid out by scripts/install.sh")
    parser.add_argument("--package", required=True, help="the Python package's directory")
    parser.add_argument("--readme", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    stamp = time.gmtime(max(epoch, 315532800))[:6]  # zip cannot say before 1980
    data = "envtrack-{}.data".format(args.version)
    info = "envtrack-{}.dist-info".format(args.version)

    entries = []  # (name in the wheel, bytes, executable)
    for path in files_under(args.package):
        with open(path, "rb") as f:
            entries.append(("envtrack/" + os.path.relpath(path, args.package), f.read(), False))
    for top, where in (("bin", data + "/scripts"), ("lib", data + "/scripts"), ("share", data + "/data/share")):
        for path in files_under(os.path.join(args.prefix, top)):
            with open(path, "rb") as f:
                executable = top == "bin" and os.stat(path).st_mode & 0o111 != 0
                entries.append((where + "/" + os.path.relpath(path, os.path.join(args.prefix, top)), f.read(), executable))
    for license in ("LICENSE-MIT", "LICENSE-APACHE"):
        with open(os.path.join(args.prefix, license), "rb") as f:
            entries.append((info + "/licenses/" + license, f.read(), False))
    with open(args.readme, encoding="utf-8") as f:
        entries.append((info + "/METADATA", metadata(args.version, f.read()).encode(), False))
    entries.append((info + "/WHEEL", wheel_file().encode(), False))
    entries.sort(key=lambda e: e[0])

    record = []
    for name, content, _ in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        record.append("{},sha256={},{}".format(name, digest, len(content)))
    record.append(info + "/RECORD,,")
    entries.append((info + "/RECORD", ("\n".join(record) + "\n").encode(), False))

    wheel = os.path.join(args.out, "envtrack-{}-{}.whl".format(args.version, TAG))
    partial = wheel + ".partial"
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content, executable in entries:
            member = zipfile.ZipInfo(name, date_time=stamp)
            member.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, content)
    os.replace(partial, wheel)
    print(os.path.abspath(wheel))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures: the repository, the `ttfs` binary the Python results are checked against,
and the shipped MNIST test split as numpy arrays."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import ttfs

REPO = Path(__file__).resolve().parents[2]


def _binary() -> Path:
    """The CLI to compare with: $TTFS_BIN, else the newer of the release build and the tests'
    build (`cargo test` makes target/debug/ttfs)."""
    given = os.environ.get("TTFS_BIN")
    if given:
        return Path(given)
    built = [REPO / "target" / p / "ttfs" for p in ("release", "debug")]
    built = [p for p in built if p.exists()]
    if not built:
        pytest.exit("no ttfs binary: run `cargo build --release` (or set TTFS_BIN)", returncode=2)
    return max(built, key=lambda p: p.stat().st_mtime)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cli():
    """Runs `ttfs ARGS...` in the repository; returns the completed process."""
    binary = _binary()

    def call(*args, check=True):
        done = subprocess.run(
            [str(binary), *map(str, args)], cwd=REPO, capture_output=True, text=True
        )
        if check and done.returncode != 0:
            raise AssertionError(f"ttfs {' '.join(map(str, args))} failed:\n{done.stderr}")
        return done

    return call


@pytest.fixture(scope="session")
def mnist():
    """The shipped MNIST test split: uint8 images [N, 28, 28] and labels [N]."""
    return ttfs.load_idx(REPO / "fixtures" / "mnist")


@pytest.fixture(scope="session")
def loihi():
    return ttfs.Target.load("loihi")


def read_json(path: Path):
    return json.loads(Path(path).read_text())


def without(d: dict, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def same_report(python: dict, cli: dict):
    """A run's report from Python equals the CLI's run.json figure for figure: everything but
    where the inputs came from (`sources`, the golden model's name) and the wall clock."""
    p, c = without(python, "sources", "timing"), without(cli, "sources", "timing")
    if p.get("golden") is not None:
        p["golden"] = without(p["golden"], "model")
        c["golden"] = without(c["golden"], "model")
    assert p == c


__all__ = ["read_json", "same_report", "without", "np"]

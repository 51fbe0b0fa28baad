"""The hashed lockfiles `make install` uses hold every pin of the requirements files they are generated from.

A pin changed in a requirements*.txt without `make lock` would install the old version silently (or fail only on
a fresh machine); these checks are offline, so they run in every `make test`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")
LOCKS = {
    "requirements-dev.lock": ("requirements-dev.txt",),
    "requirements-infra.lock": ("requirements-dev.txt", "requirements-infra.txt"),
    "requirements-checkov.lock": ("requirements-checkov.txt",),
    "requirements.lock": ("requirements.txt",),
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            lines += requirement_lines(path.parent / line[3:].strip())
        elif line:
            lines.append(line)
    return lines


def locked(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for each package the lockfile pins."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = _normal(match.group(1))
            pins[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


@pytest.mark.parametrize("lock_name", sorted(LOCKS))
def test_every_requirement_is_pinned_and_locked_at_its_version(lock_name):
    pins = locked(ROOT / lock_name)
    for source in LOCKS[lock_name]:
        for requirement in requirement_lines(ROOT / source):
            match = PIN.match(requirement)
            assert match, f"{source}: '{requirement}' is not pinned with =="
            name, version = _normal(match.group(1)), match.group(2)
            assert name in pins, f"{lock_name} lacks {name} ({source}): run `make lock`"
            assert pins[name][0] == version, f"{lock_name} has {name}=={pins[name][0]}, {source} asks {version}"


@pytest.mark.parametrize("lock_name", sorted(LOCKS))
def test_every_locked_package_carries_a_hash(lock_name):
    pins = locked(ROOT / lock_name)
    assert pins, f"{lock_name} pins nothing"
    unhashed = sorted(name for name, (_, hashes) in pins.items() if hashes == 0)
    assert not unhashed, f"{lock_name}: no hash for {unhashed} (pip --require-hashes would refuse the install)"

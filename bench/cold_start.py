"""Cold start: importing the module Lambda loads for the handler (app), against `import boto3` alone.

Each import is timed in a fresh interpreter (perf_counter around the import statement), median of several runs.
Also the deployment package: app.py, chalicelib and requirements.txt's wheels (boto3 is in the runtime and
Powertools is a layer, so neither is in it), zipped.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.environment import PROJECT_DIR, stage_environment

RUNS = 9
TIMER = "import time; started = time.perf_counter(); import {module}; print(time.perf_counter() - started)"


def child_environment() -> dict[str, str]:
    """The stage's variables, and bytecode cached as a deployed package would have it: a shell that sets
    PYTHONDONTWRITEBYTECODE would otherwise have every run compile every module (measured: ≈ 1.7× instead of ≈ 1.4×)."""
    environment = {**os.environ, **stage_environment()}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def import_seconds(module: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", TIMER.format(module=module)],
        cwd=PROJECT_DIR,
        env=child_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip())


def heaviest_imports(module: str = "app", top: int = 12) -> list[tuple[str, float]]:
    """`python -X importtime`: the packages with the largest cumulative import time (ms)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=PROJECT_DIR,
        env=child_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if name.count(" ") - name.lstrip().count(" ") <= 3:  # top-level and one level down
            rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda row: -row[1])[:top]


def measure(runs: int = RUNS) -> dict:
    """Median import times; the runs alternate between the modules so that a busy machine skews both alike."""
    modules = {"boto3": "boto3", "app": "app", "app_then_boto3": "app, boto3"}
    for module in modules.values():
        import_seconds(module)  # warm-up: the first run may compile bytecode, which a deployed package has already
    times: dict[str, list[float]] = {name: [] for name in modules}
    for _ in range(runs):
        for name, module in modules.items():
            times[name].append(import_seconds(module))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "runs": runs,
        "boto3_ms": medians["boto3"] * 1e3,
        "app_ms": medians["app"] * 1e3,
        "ratio_to_boto3": medians["app"] / medians["boto3"],
        # What a cold start pays before its first DynamoDB call: the handler module, then boto3 on first use.
        "app_then_boto3_ms": medians["app_then_boto3"] * 1e3,
        "heaviest_imports_ms": heaviest_imports(),
    }


def package_size() -> dict:
    """Bytes of the zipped deployment package: app.py, chalicelib (with compiled catalogues) and the wheels."""
    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch) / "site"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-t",
                str(site),
                "-r",
                str(PROJECT_DIR / "requirements.txt"),
            ],
            check=True,
            capture_output=True,
        )
        archive = Path(scratch) / "deployment.zip"
        files = 0
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as package:
            sources = [(PROJECT_DIR / "app.py", Path("app.py"))]
            sources += [(p, p.relative_to(PROJECT_DIR)) for p in (PROJECT_DIR / "chalicelib").rglob("*")]
            sources += [(p, p.relative_to(site)) for p in site.rglob("*")]
            for path, name in sources:
                if path.is_file() and "__pycache__" not in path.parts:
                    package.write(path, name)
                    files += 1
        wheels = sorted(p.name for p in site.iterdir() if p.name.endswith(".dist-info"))
        return {"zip_bytes": archive.stat().st_size, "files": files, "wheels": wheels}

"""`make bench`: AWS calls and CPU per notification, the data layer at volume, cold start and package size.

Prints a table and writes .local/bench.json. Figures only: nothing here passes or fails on time.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime

from bench.environment import PROJECT_DIR, use_stage_environment

RESULTS_PATH = PROJECT_DIR / ".local" / "bench.json"


def _table(title: str, header: list[str], rows: list[list]) -> str:
    cells = [header] + [[f"{c:.2f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines) + "\n"


def report(results: dict) -> str:
    calls = results["aws_calls"]["feedback"]["by_kind"]
    out = [
        _table(
            "AWS calls per SES notification (batches of 10 through app.handle_ses_feedback, moto-backed clients)",
            [
                "kind",
                "notifications",
                "reads/notif",
                "writes/notif",
                "scans",
                "items/notif",
                "WRU/notif",
                "GSI puts/notif",
                "item bytes mean",
                "max",
            ],
            [
                [
                    kind,
                    f["notifications"],
                    f["reads_per_notification"],
                    f["writes_per_notification"],
                    f["scans"],
                    f["items_per_notification"],
                    f["write_units_per_notification"],
                    f["index_puts_per_notification"],
                    round(f["item_bytes_mean"]),
                    f["item_bytes_max"],
                ]
                for kind, f in calls.items()
            ],
        ),
        _table(
            "Feedback handler: DynamoDB round trips per invocation (mixed batches, moto-backed clients)",
            ["batch size", "round trips/batch", "items/batch", "calls"],
            [
                [size, f["round_trips_per_batch"], f["items_per_batch"], json.dumps(f["calls_by_operation"])]
                for size, f in results["aws_calls"]["feedback"]["round_trips_by_batch_size"].items()
            ],
        ),
        _table(
            "Conversation endpoint (GET /tickets/{id}/comments, one page)",
            ["comments", "Query calls", "all calls"],
            [
                [n, f["queries_per_page"], json.dumps(f["calls_by_operation"])]
                for n, f in results["aws_calls"]["conversation"].items()
            ],
        ),
        _table(
            "CPU per notification in the handler (AWS on an in-memory fake; floor = json.loads of body + message)",
            ["batch size", "handler us/notif", "floor us/notif", "ratio to floor", "handler ms/batch"],
            [
                [
                    size,
                    f["handler_us_per_notification"],
                    f["floor_us_per_notification"],
                    f["ratio_to_floor"],
                    f["handler_ms_per_batch"],
                ]
                for size, f in results["cpu"].items()
            ],
        ),
        *(
            _table(
                f"CPU per notification by feedback kind (batch of {size}; the rows above are the four kinds in turn)",
                ["feedback", "handler us/notif", "floor us/notif", "ratio to floor"],
                [
                    [name, f["handler_us_per_notification"], f["floor_us_per_notification"], f["ratio_to_floor"]]
                    for name, f in by_kind.items()
                ],
            )
            for size, by_kind in results["cpu_by_kind"].items()
        ),
    ]
    cold = results["cold_start"]
    out.append(
        _table(
            f"Cold start (fresh interpreter per import, median of {cold['runs']})",
            ["import", "ms", "ratio to boto3"],
            [
                ["boto3", cold["boto3_ms"], 1.0],
                ["app (the handler module)", cold["app_ms"], cold["ratio_to_boto3"]],
                [
                    "app, then boto3 (before the first call)",
                    cold["app_then_boto3_ms"],
                    cold["app_then_boto3_ms"] / cold["boto3_ms"],
                ],
            ],
        )
    )
    out.append(
        "heaviest imports under app (ms, cumulative): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in cold["heaviest_imports_ms"][1:8])
        + "\n"
    )
    package = results["package"]
    out.append(
        f"Deployment package: {package['zip_bytes'] / 1024:.0f} KiB zipped, {package['files']} files "
        f"(app.py, chalicelib, {', '.join(w.removesuffix('.dist-info') for w in package['wheels'])})\n"
    )
    body_bytes = results["sqs_body_bytes"]
    out.append(f"SQS bodies: mean {body_bytes['mean']:.0f} bytes, max {body_bytes['max']} (one 64 KB request chunk)\n")
    if "scale" in results:
        from bench import scale

        out.append(scale.report(results["scale"]))
    if "classification" in results:
        from bench import classification

        out.append(classification.report(results["classification"]))
    return "\n".join(out)


def main() -> None:
    use_stage_environment()
    from bench import aws_calls, classification, cold_start, cpu, scale

    started = time.perf_counter()
    results: dict = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
    }
    results["classification"] = classification.measure()
    results["scale"] = scale.measure()  # the in-memory fake only: needs no moto
    results["aws_calls"] = aws_calls.measure()
    sizes = results["aws_calls"]["feedback"].pop("body_bytes")
    results["sqs_body_bytes"] = {"mean": sum(sizes) / len(sizes), "max": max(sizes)}
    results["cpu"] = cpu.measure()
    results["cpu_by_kind"] = {10: cpu.measure_by_kind(10)}  # by batch size, as results["cpu"]
    results["cold_start"] = cold_start.measure()
    results["package"] = cold_start.package_size()
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(report(results))
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS_PATH.relative_to(PROJECT_DIR)} in {results['seconds']} s")


if __name__ == "__main__":
    main()

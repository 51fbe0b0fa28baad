"""Agreement of the bounce classifier with the expert reading on tests/data/bounce_corpus.jsonl, per category.

Also the naive baseline (the category of the status code SES reports, nothing else) and the classifier's CPU cost
per bounce, first sight and repeated (the feedback handler sees the same texts again and again).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from chalicelib.domain import classification, smtp_codes

CORPUS_PATH = Path(__file__).resolve().parent.parent / "tests" / "data" / "bounce_corpus.jsonl"


def load_corpus(path: Path = CORPUS_PATH) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def classify(row: dict) -> str:
    return classification.classify_bounce(
        row.get("bounce_type"),
        row.get("bounce_subtype"),
        status=row.get("status"),
        diagnostic=row.get("diagnostic"),
    ).category


def naive_category(row: dict) -> str:
    # What a status-code table alone says: no words, no wrapper, no bounce type.
    try:
        category = smtp_codes.category_of(row.get("status") or "")
    except ValueError:
        category = None
    return category or smtp_codes.UNKNOWN


def agreement(rows: list[dict], predict) -> dict:
    total: Counter = Counter()
    agreed: Counter = Counter()
    misses: list[dict] = []
    for row in rows:
        expected = row["expected"]
        got = predict(row)
        total[expected] += 1
        if got == expected:
            agreed[expected] += 1
        else:
            misses.append({"id": row["id"], "expected": expected, "got": got, "diagnostic": row["diagnostic"][:160]})
    per_category = {
        category: {
            "cases": total[category],
            "agreed": agreed[category],
            "agreement": agreed[category] / total[category],
        }
        for category in sorted(total)
    }
    overall = sum(agreed.values()) / max(1, sum(total.values()))
    return {"cases": sum(total.values()), "overall": overall, "per_category": per_category, "misses": misses}


def _cpu_us_per_bounce(rows: list[dict], *, cached: bool) -> float:
    cache_clear = getattr(classification, "clear_caches", None)
    if cache_clear and not cached:
        cache_clear()
    if cached:
        for row in rows:
            classify(row)
    started = time.process_time()
    for row in rows:
        if cache_clear and not cached:
            cache_clear()
        classify(row)
    return (time.process_time() - started) / max(1, len(rows)) * 1e6


def measure() -> dict:
    rows = load_corpus()
    result = agreement(rows, classify)
    baseline = agreement(rows, naive_category)
    return {
        "corpus": str(CORPUS_PATH.relative_to(CORPUS_PATH.parent.parent.parent)),
        "cases": result["cases"],
        "overall": result["overall"],
        "per_category": result["per_category"],
        "baseline_status_code": {"overall": baseline["overall"], "per_category": baseline["per_category"]},
        "cpu_us_per_bounce_first_sight": _cpu_us_per_bounce(rows, cached=False),
        "cpu_us_per_bounce_repeated": _cpu_us_per_bounce(rows, cached=True),
        "misses": result["misses"],
    }


def report(figures: dict) -> str:
    lines = [
        f"Bounce classification on {figures['corpus']} ({figures['cases']} replies): "
        f"overall {figures['overall']:.1%}, status-code baseline {figures['baseline_status_code']['overall']:.1%}",
        f"{'category':<20}{'cases':>6}{'agreement':>11}{'baseline':>10}",
    ]
    for category, entry in figures["per_category"].items():
        base = figures["baseline_status_code"]["per_category"][category]["agreement"]
        lines.append(f"{category:<20}{entry['cases']:>6}{entry['agreement']:>11.1%}{base:>10.1%}")
    lines.append(
        f"CPU per bounce: {figures['cpu_us_per_bounce_first_sight']:.1f} us first sight, "
        f"{figures['cpu_us_per_bounce_repeated']:.1f} us repeated"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    figures = measure()
    print(report(figures))
    for miss in figures["misses"]:
        print(f"{miss['id']} expected {miss['expected']:<18} got {miss['got']:<18} {miss['diagnostic']!r}")

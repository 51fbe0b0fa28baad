"""The classifier against the project's own bounce corpus: floors that fail when a change makes it read worse."""

from __future__ import annotations

import pytest

from bench import classification as corpus_bench

# Overall and per-category floors; the corpus is tests/data/bounce_corpus.jsonl (see tests/data/README.md).
OVERALL_FLOOR = 0.95
CATEGORY_FLOOR = 0.90


@pytest.fixture(scope="module")
def figures():
    rows = corpus_bench.load_corpus()
    return corpus_bench.agreement(rows, corpus_bench.classify), corpus_bench.agreement(
        rows, corpus_bench.naive_category
    )


def test_the_corpus_is_large_and_covers_every_category():
    rows = corpus_bench.load_corpus()
    categories = {row["expected"] for row in rows}

    assert len(rows) >= 300
    assert {
        "invalid_address",
        "mailbox_full",
        "message_too_large",
        "spam_or_policy",
        "temporary",
        "unknown",
        "suppressed",
    } <= categories
    assert len({row["id"] for row in rows}) == len(rows)


def test_overall_agreement_stays_above_the_floor(figures):
    result, _baseline = figures

    assert result["overall"] >= OVERALL_FLOOR, result["misses"]


@pytest.mark.parametrize(
    "category", ["invalid_address", "mailbox_full", "message_too_large", "spam_or_policy", "temporary", "unknown"]
)
def test_each_category_stays_above_the_floor(figures, category):
    result, _baseline = figures
    entry = result["per_category"][category]

    assert entry["agreement"] >= CATEGORY_FLOOR, [m for m in result["misses"] if m["expected"] == category]


def test_the_classifier_beats_the_status_code_baseline(figures):
    result, baseline = figures

    assert result["overall"] > baseline["overall"] + 0.15

from chalicelib.domain import search


def test_a_ticket_is_found_by_subject_words_names_and_addresses_folded():
    words = search.ticket_words("Printer on FIRE in Zürich", [("Rita Müller", "Rita@Example.com")])
    assert words[:3] == ["rita", "muller", "rita@example.com"]  # people first
    assert {"printer", "on", "fire", "in", "zurich", "example", "com"} <= set(words)
    assert len(words) == len(set(words))


def test_the_words_per_ticket_are_bounded_and_a_long_subject_keeps_the_people():
    words = search.ticket_words(" ".join(f"word{i}" for i in range(40)), [("Ann Bee", "ann@b.example")])
    assert len(words) == search.MAX_WORDS
    assert {"ann", "bee", "ann@b.example"} <= set(words)


def test_a_query_looks_up_its_longest_word_first_and_ignores_one_letter_words():
    assert search.query_words("a Printer  fire") == ["printer", "fire"]
    assert search.query_words("RITA@example.com")[0] == "rita@example.com"
    assert search.query_words("  - ! ") == []

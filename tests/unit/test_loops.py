"""Recognising automated mail: every header rule, out-of-office subjects in each language, and people's mail."""

import pytest

from chalicelib.domain import loops
from chalicelib.domain.loops import automated_reason

PERSON = [("From", "Rita <rita@example.com>"), ("Return-Path", "<rita@example.com>"), ("Auto-Submitted", "no")]


@pytest.mark.parametrize(
    ("header", "rule"),
    [
        (("Auto-Submitted", "auto-replied"), loops.AUTO_SUBMITTED),
        (("Auto-Submitted", "auto-generated"), loops.AUTO_SUBMITTED),
        (("auto-submitted", "auto-notified; owner-email=x@example.com"), loops.AUTO_SUBMITTED),
        (("X-Autoreply", "yes"), loops.AUTOREPLY_HEADER),
        (("X-Autorespond", "Out of office"), loops.AUTOREPLY_HEADER),
        (("Precedence", "bulk"), loops.PRECEDENCE),
        (("Precedence", "junk"), loops.PRECEDENCE),
        (("Precedence", "list"), loops.PRECEDENCE),
        (("Precedence", "auto_reply"), loops.PRECEDENCE),
        (("X-Auto-Response-Suppress", "All"), loops.AUTO_RESPONSE_SUPPRESS),
        (("Return-Path", "<>"), loops.EMPTY_RETURN_PATH),
    ],
)
def test_each_header_rule(header, rule):
    found = automated_reason([("From", "rita@example.com"), header], "Re: [ABCDEF] Printer on fire")

    assert found is not None and found.rule == rule
    assert header[1] in found.evidence


@pytest.mark.parametrize(
    "subject",
    [
        # en
        "Out of Office: Re: [ABCDEF] Printer on fire",
        "Automatic reply: [ABCDEF] Printer on fire",
        "Autoreply: Printer on fire",
        "Auto-Reply: Printer on fire",
        "OUT OF THE OFFICE",
        # it
        "Risposta automatica: [ABCDEF] Stampante",
        "Fuori ufficio fino al 3 gennaio",
        # de
        "Abwesenheitsnotiz: [ABCDEF] Drucker",
        "Automatische Antwort: Drucker brennt",
        "Nicht im Büro: Drucker",
        # es
        "Respuesta automática: [ABCDEF] Impresora",
        "Respuesta automatica: Impresora",
        "Fuera de la oficina: Impresora",
        # fr
        "Réponse automatique : [ABCDEF] Imprimante",
        "Absence du bureau : Imprimante",
        "[ABCDEF] Message d’absence",
    ],
)
def test_out_of_office_subjects_in_each_language(subject):
    found = automated_reason([("From", "rita@example.com")], subject)

    assert found is not None and found.rule == loops.OUT_OF_OFFICE_SUBJECT


@pytest.mark.parametrize(
    "subject",
    [
        "Re: [ABCDEF] Printer on fire",
        "Re: [ABCDEF] My out of office reply does not work",  # about an out-of-office, not one
        "Outlook keeps crashing",
        "Ausentismo report",
        "",
        None,
    ],
)
def test_a_person_s_reply_is_not_automated(subject):
    assert automated_reason(PERSON, subject) is None


def test_mail_from_our_own_address_is_a_loop():
    found = automated_reason(
        [("From", "Support <support@deskmail.example.com>")], "Re: x", ["support@deskmail.example.com"]
    )

    assert found is not None and found.rule == loops.OWN_ADDRESS

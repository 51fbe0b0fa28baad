"""Inbound replies read well: the quoted history goes at our marker and at each client's quote header, in the five
languages; the full original stays available."""

from __future__ import annotations

import pytest

from chalicelib.domain.inbound_mail import parse, reply_text
from chalicelib.domain.rendering import reply_markers
from tests.inbound_payloads import mime, received

QUOTED = "> Hello Rita,\n>\n> Ada Agent replied to this request.\n"

# Attribution lines and header blocks as the clients write them (Gmail, Outlook, Apple Mail, Thunderbird).
CLIENT_QUOTES = {
    "gmail-en": "On Tue, Dec 1, 2026 at 9:15 AM Ada Agent <support@deskmail.example.com> wrote:",
    "gmail-en-wrapped": "On Tue, Dec 1, 2026 at 9:15 AM Ada Agent from the support team of ACME <\n"
    "support@deskmail.example.com> wrote:",
    "gmail-de": "Am Di., 1. Dez. 2026 um 09:15 Uhr schrieb Ada Agent <support@deskmail.example.com>:",
    "gmail-fr": "Le mar. 1 déc. 2026 à 09:15, Ada Agent <support@deskmail.example.com> a écrit :",
    "gmail-it": "Il giorno mar 1 dic 2026 alle ore 09:15 Ada Agent <support@deskmail.example.com> ha scritto:",
    "gmail-es": "El mar, 1 dic 2026 a las 9:15, Ada Agent (<support@deskmail.example.com>) escribió:",
    "thunderbird-de": "Am 01.12.26 um 09:15 schrieb Ada Agent:",
    "thunderbird-fr": "Le 01/12/2026 à 09:15, Ada Agent a écrit :",
    "apple-it": "Il giorno 1 dic 2026, alle ore 09:15, Ada Agent <support@deskmail.example.com> ha scritto:",
    "outlook-en": "________________________________\nFrom: Ada Agent <support@deskmail.example.com>\n"
    "Sent: Tuesday, December 1, 2026 9:15 AM\nTo: Rita <rita@example.com>\nSubject: [Ticket 4TDV9V] Printer",
    "outlook-de": "Von: Ada Agent <support@deskmail.example.com>\nGesendet: Dienstag, 1. Dezember 2026 09:15\n"
    "An: Rita <rita@example.com>\nBetreff: [Ticket 4TDV9V] Drucker",
    "outlook-fr": "De : Ada Agent <support@deskmail.example.com>\nEnvoyé : mardi 1 décembre 2026 09:15\n"
    "À : Rita <rita@example.com>\nObjet : [Ticket 4TDV9V] Imprimante",
    "outlook-it": "Da: Ada Agent <support@deskmail.example.com>\nInviato: martedì 1 dicembre 2026 09:15\n"
    "A: Rita <rita@example.com>\nOggetto: [Ticket 4TDV9V] Stampante",
    "outlook-es": "De: Ada Agent <support@deskmail.example.com>\nEnviado: martes, 1 de diciembre de 2026 9:15\n"
    "Para: Rita <rita@example.com>\nAsunto: [Ticket 4TDV9V] Impresora",
    "outlook-original-de": "-----Ursprüngliche Nachricht-----\nVon: Ada Agent",
    "outlook-original-fr": "-----Message d'origine-----\nDe : Ada Agent",
}


@pytest.mark.parametrize("client", sorted(CLIENT_QUOTES))
def test_client_quote_headers_end_the_reply(client):
    text = f"Thanks, it works again.\nRita\n\n{CLIENT_QUOTES[client]}\n{QUOTED}Unquoted old text\n"

    assert reply_text(text) == "Thanks, it works again.\nRita"


@pytest.mark.parametrize("marker", reply_markers())
def test_our_marker_ends_the_reply_in_every_language(marker):
    # Clients that do not quote with '>' (or quote the HTML part) still carry our marker line.
    text = f"Das Papier ist nachgefüllt.\n\n{marker}\n\nHallo Rita,\n\nAda Agent hat geantwortet.\n"

    assert reply_text(text) == "Das Papier ist nachgefüllt."
    assert reply_text(f"Ok\n\n> {marker}\n> Hallo") == "Ok"


def test_a_from_line_in_the_customer_text_is_kept():
    text = "From: the third floor, the printer smokes again.\nPlease come."

    assert reply_text(text) == text


def test_full_original_is_kept_beside_the_reply():
    body = f"Merci !\n\nLe mar. 1 déc. 2026 à 09:15, Ada Agent a écrit :\n{QUOTED}"
    email = parse(received(mime(body=body)), "now")

    assert email.text == "Merci !"
    assert "Ada Agent replied to this request." in email.full_text and email.full_text.startswith("Merci !")

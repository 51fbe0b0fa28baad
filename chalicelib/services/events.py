"""Ticket event types of the "my customer got no email" features, named once for writers and the events view."""

from chalicelib.services.rate_limits import EVENT_NOTIFICATION_HELD

EVENT_SUPPRESSION_REMOVED = "suppression_removed"
EVENT_AUTOMATED_REPLY = "automated_reply_received"
EVENT_INBOUND_UNKNOWN_SENDER = "inbound_email_from_unknown_sender"
EVENT_INBOUND_SUSPENDED = "inbound_email_suspended"

__all__ = [
    "EVENT_AUTOMATED_REPLY",
    "EVENT_INBOUND_SUSPENDED",
    "EVENT_INBOUND_UNKNOWN_SENDER",
    "EVENT_NOTIFICATION_HELD",
    "EVENT_SUPPRESSION_REMOVED",
]

"""deskmail's HTTP API and SES feedback handler (thin: parse, call chalicelib, shape)."""

import os

from chalice import Chalice

app = Chalice(app_name="deskmail")

FEEDBACK_QUEUE = os.environ.get("DESKMAIL_FEEDBACK_QUEUE", "deskmail-feedback-dev")


@app.route("/health")
def health():
    return {"status": "ok"}


@app.on_sqs_message(queue=FEEDBACK_QUEUE, batch_size=10, maximum_batching_window_in_seconds=5)
def handle_ses_feedback(event):
    return {"batchItemFailures": []}

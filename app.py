"""deskmail's HTTP API and SES feedback handler: parse the input, call one use case in chalicelib, shape the output."""

import os
import time
from functools import wraps

from chalice import BadRequestError, Chalice, ConflictError, ConvertToMiddleware, NotFoundError, Response

from chalicelib import auth, i18n, runtime
from chalicelib.config import settings
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.ids import utc_now
from chalicelib.lazy import lazy_module
from chalicelib.observability import logger
from chalicelib.services import feedback_handler

# Loaded on first use: the feedback function imports this module too, and its cold start needs none of them.
diagnostics = lazy_module("chalicelib.services.diagnostics")
inbound = lazy_module("chalicelib.services.inbound")
protection = lazy_module("chalicelib.services.protection")
resend = lazy_module("chalicelib.services.resend")
suppression = lazy_module("chalicelib.services.suppression")
trigger_templates = lazy_module("chalicelib.services.trigger_templates")
views = lazy_module("chalicelib.services.views")
workspace = lazy_module("chalicelib.services.workspace")
web = lazy_module("chalicelib.web")

app = Chalice(app_name="deskmail")
# Powertools' Lambda context keys (request id, cold start, function) on every log line; clear_state keeps one
# invocation's keys from leaking into the next.
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))

FEEDBACK_QUEUE = os.environ.get("DESKMAIL_FEEDBACK_QUEUE", "deskmail-feedback-dev")
INBOUND_QUEUE = os.environ.get("DESKMAIL_INBOUND_QUEUE", "deskmail-inbound-dev")


@app.middleware("http")
def authenticate(event, get_response):
    """Every route needs an agent's bearer token, except the health check and the page shell."""
    if event.method == "OPTIONS" or auth.is_open(event.path):
        return get_response(event)
    try:
        claims = auth.verify((event.headers or {}).get("authorization"))
    except auth.Unauthenticated as error:
        return Response(
            body={"Code": "UnauthorizedError", "Message": str(error)},
            status_code=401,
            headers={"Content-Type": "application/json", "WWW-Authenticate": 'Bearer realm="deskmail"'},
        )
    event.context.setdefault("authorizer", {})["principalId"] = claims["sub"]
    return get_response(event)


def api(path, methods=("GET",)):
    """A route whose domain errors become Chalice's 4xx bodies ({"Code", "Message"}), in the agent's language."""

    def decorate(view):
        @wraps(view)
        def handle(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except InvalidInput as error:
                raise BadRequestError(error.localized(translations())) from None
            except NotFound as error:
                raise NotFoundError(error.localized(translations())) from None
            except Conflict as error:
                raise ConflictError(error.localized(translations())) from None

        return app.route(path, methods=list(methods), cors=True)(handle)

    return decorate


def created(body):
    return Response(body=body, status_code=201, headers={"Content-Type": "application/json"})


def translations():
    request = app.current_request
    explicit = (request.query_params or {}).get("locale")
    return i18n.translations(i18n.negotiate_locale((request.headers or {}).get("accept-language"), explicit))


def agent_id():
    return (app.current_request.context.get("authorizer") or {}).get("principalId", "unknown-agent")


def query(name):
    return (app.current_request.query_params or {}).get(name)


@app.route("/health")
def health():
    return {"status": "ok"}


@api("/users", methods=["POST"])
def create_user():
    return created(views.user_view(workspace.create_user(runtime.table(), app.current_request.json_body, utc_now)))


@api("/users/{user_id}")
def get_user(user_id):
    user = views.user_view(workspace.get_user(runtime.table(), user_id))
    return {**user, "deliverability": protection.user_deliverability(runtime.table(), settings(), user_id, utc_now())}


@api("/users/{user_id}/deliverability/reset", methods=["POST"])
def reset_deliverability(user_id):
    protection.reset_deliverability(runtime.table(), user_id, agent_id(), utc_now)
    return {"deliverability": protection.user_deliverability(runtime.table(), settings(), user_id, utc_now())}


@api("/users/{user_id}", methods=["PATCH"])
def update_user(user_id):
    return views.user_view(workspace.update_user(runtime.table(), user_id, app.current_request.json_body, utc_now))


@api("/tickets", methods=["POST"])
def create_ticket():
    result = workspace.create_ticket(
        runtime.table(), runtime.mailer(), settings(), app.current_request.json_body, utc_now
    )
    return created({**views.ticket_view(result["ticket"], result["tags"]), "comment_id": result["comment"].id})


@api("/tickets")
def list_tickets():
    return views.tagged_tickets(runtime.table(), query("tag"), query("next_page"))


@api("/tickets/{ticket_id}")
def get_ticket(ticket_id):
    return views.ticket_view(*workspace.get_ticket(runtime.table(), ticket_id))


@api("/tickets/{ticket_id}/tags", methods=["PUT"])
def set_tags(ticket_id):
    return {"tags": workspace.set_tags(runtime.table(), ticket_id, app.current_request.json_body, utc_now)}


@api("/tickets/{ticket_id}/comments", methods=["POST"])
def add_comment(ticket_id):
    comment = workspace.add_comment(
        runtime.table(), runtime.mailer(), settings(), ticket_id, app.current_request.json_body, utc_now
    )
    return created(
        {
            "id": comment.id,
            "ticket_id": comment.ticket_id,
            "created_at": comment.created_at,
            "triggers": list(comment.trigger_evaluations),
        }
    )


@api("/tickets/{ticket_id}/comments")
def list_comments(ticket_id):
    return views.conversation(runtime.table(), ticket_id, query("next_page"), translations())


@api("/tickets/{ticket_id}/events")
def list_events(ticket_id):
    return views.ticket_events(runtime.table(), ticket_id, query("next_page"), translations())


@api("/tickets/{ticket_id}/recipient-check", methods=["POST"])
def recipient_check(ticket_id):
    return protection.recipient_check(
        runtime.table(), settings(), ticket_id, app.current_request.json_body, utc_now(), translations()
    )


@api("/delivery-failures")
def list_delivery_failures():
    return protection.list_failures(runtime.table(), app.current_request.query_params or {}, translations())


@api("/delivery-failures/resolve", methods=["POST"])
def resolve_delivery_failures():
    return protection.resolve_failures(runtime.table(), app.current_request.json_body, agent_id(), utc_now)


@api("/reputation")
def get_reputation():
    return protection.reputation_report(runtime.table(), utc_now())


@app.schedule("rate(15 minutes)")
def publish_reputation(event):
    """Bounce and complaint rates as metrics, for alarms that fire before SES reviews the account."""
    protection.publish_reputation_metrics(protection.reputation_windows(runtime.table(), utc_now()))


@api("/triggers")
def list_triggers():
    return {"triggers": [views.trigger_view(t) for t in workspace.list_triggers(runtime.table())]}


@api("/triggers/{trigger_id}", methods=["PATCH"])
def update_trigger(trigger_id):
    return views.trigger_view(
        workspace.set_trigger_active(runtime.table(), trigger_id, app.current_request.json_body, utc_now)
    )


# Per-trigger email templates (admin only once roles exist: the role check goes on these three routes).
@api("/triggers/{trigger_id}/templates")
def list_trigger_templates(trigger_id):
    return trigger_templates.list_templates(runtime.table(), trigger_id)


@api("/triggers/{trigger_id}/templates/{locale}", methods=["PUT"])
def put_trigger_template(trigger_id, locale):
    return trigger_templates.put_template(
        runtime.table(), trigger_id, locale, app.current_request.json_body, agent_id(), utc_now
    )


@api("/triggers/{trigger_id}/preview", methods=["POST"])
def preview_trigger(trigger_id):
    return trigger_templates.preview(runtime.table(), settings(), trigger_id, app.current_request.json_body)


@api("/smtp-codes/{code}")
def smtp_code(code):
    return views.describe_code(code, translations())


@app.on_sqs_message(queue=FEEDBACK_QUEUE, batch_size=10, maximum_batching_window_in_seconds=5)
def handle_ses_feedback(event):
    """SES -> SNS -> SQS: records each notification; failed records are retried alone (partial batch response)."""
    return feedback_handler.handle(event.to_dict(), event.context, runtime.table(), utc_now(), int(time.time()))


# ---- the agent workspace page (open: the page asks for the token, the API checks it)


def _page_asset(name):
    found = web.asset(name)
    if found is None:
        raise NotFoundError(f"There is no asset {name}.")
    return Response(body=found[0].decode("utf-8"), status_code=200, headers=web.headers(name))


@app.route("/")
def workspace_page():
    return _page_asset("index.html")


@app.route("/static/{name}")
def workspace_asset(name):
    return _page_asset(name)


@app.route("/static/i18n/{name}")
def workspace_strings(name):
    return _page_asset(f"i18n/{name}")


# ---- "my customer got no email": diagnostics, suppression list, resend, inbound replies (loop-safe) ---------------


@api("/tickets/{ticket_id}/diagnostics")
def ticket_diagnostics(ticket_id):
    return diagnostics.diagnose(
        runtime.table(),
        runtime.suppression_list(),
        runtime.ses_identities(),
        runtime.spf_lookup(),
        settings(),
        ticket_id,
        query("user_id"),
        translations(),
    )


@api("/suppressions/{email}")
def get_suppression(email):
    return suppression.lookup(runtime.suppression_list(), email)


@api("/suppressions/{email}", methods=["DELETE"])
def delete_suppression(email):
    return suppression.remove(runtime.suppression_list(), runtime.table(), email, agent_id(), utc_now)


@api("/tickets/{ticket_id}/comments/{comment_id}/resend", methods=["POST"])
def resend_comment(ticket_id, comment_id):
    return created(
        resend.resend(
            runtime.table(),
            runtime.mailer(),
            settings(),
            ticket_id,
            comment_id,
            app.current_request.json_body,
            utc_now,
        )
    )


@app.on_sqs_message(queue=INBOUND_QUEUE, batch_size=10, maximum_batching_window_in_seconds=5)
def handle_inbound_email(event):
    """SES receipt rule -> SNS -> SQS: replies become comments; automated mail is only recorded (no loops)."""
    return inbound.handle(
        event.to_dict(), event.context, runtime.table(), runtime.mailer(), settings(), utc_now, int(time.time())
    )

"""deskmail's HTTP API and SES feedback handler: parse the input, call one use case in chalicelib, shape the output."""

import os
import time
from functools import wraps

from chalice import (
    BadRequestError,
    Chalice,
    ConflictError,
    NotFoundError,
    Response,
    UnprocessableEntityError,
)
from chalice.app import Request  # the HTTP event class (chalice exports it only from chalice.app)

from chalicelib import auth, i18n, request_json, runtime
from chalicelib.config import settings
from chalicelib.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, TooLarge, Unprocessable
from chalicelib.i18n import N_
from chalicelib.ids import utc_now
from chalicelib.lazy import lazy_module
from chalicelib.observability import logger
from chalicelib.services import feedback_handler

# Loaded on first use: the feedback function imports this module too, and its cold start needs none of them.
agents = lazy_module("chalicelib.services.agents")
attachments = lazy_module("chalicelib.services.attachments")
diagnostics = lazy_module("chalicelib.services.diagnostics")
idempotency = lazy_module("chalicelib.services.idempotency")
inbound = lazy_module("chalicelib.services.inbound")
outbox = lazy_module("chalicelib.services.outbox")
protection = lazy_module("chalicelib.services.protection")
resend = lazy_module("chalicelib.services.resend")
suppression = lazy_module("chalicelib.services.suppression")
trigger_templates = lazy_module("chalicelib.services.trigger_templates")
views = lazy_module("chalicelib.services.views")
workspace = lazy_module("chalicelib.services.workspace")
web = lazy_module("chalicelib.web")

app = Chalice(app_name="deskmail")


# Powertools' Lambda context keys (request id, cold start, function) on every log line; clear_state keeps one
# invocation's keys from leaking into the next. Decorated once, here: Chalice's ConvertToMiddleware applied the
# decorator anew on every invocation (two functools.wraps, a partial, an environment read: ≈ 8 µs of a batch of 1).
# The decorator passes the extra arguments through to the function it wraps.
@logger.inject_lambda_context(clear_state=True)
def _with_lambda_context(original_event, context, get_response, event):
    return get_response(event)


@app.middleware("all")
def lambda_context_keys(event, get_response):
    """What ConvertToMiddleware(logger.inject_lambda_context(...)) did: the Lambda event and context it reads."""
    if isinstance(event, Request):
        return _with_lambda_context(event.to_original_event(), event.lambda_context, get_response, event)
    return _with_lambda_context(event.to_dict(), event.context, get_response, event)


FEEDBACK_QUEUE = os.environ.get("DESKMAIL_FEEDBACK_QUEUE", "deskmail-feedback-dev")
INBOUND_QUEUE = os.environ.get("DESKMAIL_INBOUND_QUEUE", "deskmail-inbound-dev")


PUBLIC = "public"
# Who may call each route, declared beside it (api(..., role=...)) and enforced in one place (authenticate):
# (path template, method) -> auth.AGENT, auth.ADMIN or PUBLIC. A route missing here is refused (see the test).
ROUTE_ROLES: dict[tuple[str, str], str] = {}


def _declare(path, methods, role):
    if role not in (auth.AGENT, auth.ADMIN, PUBLIC):
        raise ValueError(f"{path}: role must be auth.AGENT, auth.ADMIN or PUBLIC, not {role!r}")
    for method in methods:
        ROUTE_ROLES[(path, method.upper())] = role


def _refusal(status, code, message, **extra):
    headers = {"Content-Type": "application/json"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="deskmail"'
    return Response(body={"Code": code, "Message": message, **extra}, status_code=status, headers=headers)


@app.middleware("http")
def authenticate(event, get_response):
    """The one place roles are enforced: a valid access token of an enabled agent whose role the route allows."""
    needed = ROUTE_ROLES.get(((event.context or {}).get("resourcePath") or event.path, event.method))
    if needed == PUBLIC:
        return get_response(event)
    try:
        identity = auth.verify((event.headers or {}).get("authorization"))
        agent = agents.signed_in(runtime.table(), identity)
    except auth.Unauthenticated as error:
        return _refusal(401, "UnauthorizedError", str(error))
    except auth.IdentityProviderUnavailable:
        logger.exception("the identity provider's JWKS could not be read")
        return _refusal(503, "ServiceUnavailableError", "Sign-in cannot be checked right now: try again shortly.")
    needed = needed or auth.ADMIN  # an undeclared route: only an admin, and the route test fails anyway
    if not auth.role_allows(agent.role, needed):
        refusal = Forbidden(N_("This needs the {role} role."), role=needed)
        tr = i18n.translations(
            i18n.negotiate_locale(
                (event.headers or {}).get("accept-language"), (event.query_params or {}).get("locale")
            )
        )
        return _refusal(403, "ForbiddenError", refusal.localized(tr), RequiredRole=needed)
    event.context.setdefault("authorizer", {}).update(
        {"principalId": agent.user_id, "role": agent.role, "subject": agent.subject}
    )
    return get_response(event)


IDEMPOTENT_ROUTES: set[tuple[str, str]] = set()  # (method, path): read by scripts/export_openapi.py


def api(path, methods=("GET",), *, role, idempotent=False):
    """A route whose domain errors become Chalice's 4xx bodies ({"Code", "Message"}), in the agent's language.

    role: who may call it (auth.AGENT, auth.ADMIN or PUBLIC); admins may call every agent route. No CORS headers: the
    page is served by this API (same origin), and no other origin has a reason to call it from a browser.
    idempotent: the route honours an Idempotency-Key header (chalicelib/services/idempotency.py)."""
    _declare(path, methods, role)

    def decorate(view):
        if idempotent:
            IDEMPOTENT_ROUTES.update((method, path) for method in methods)

        @wraps(view)
        def handle(*args, **kwargs):
            try:
                json_body()  # parsed once, with limits, before the view: a hostile body is a 400, never a 500
                replay = _claim_idempotency_key() if idempotent else None
                if replay is not None:
                    return Response(
                        body=replay.body,
                        status_code=replay.status_code,
                        headers={"Content-Type": "application/json", "Idempotent-Replayed": "true"},
                    )
                response = view(*args, **kwargs)
            except BaseException as error:
                _release_idempotency_key()
                if isinstance(error, InvalidInput):
                    raise BadRequestError(error.localized(translations())) from None
                if isinstance(error, NotFound):
                    raise NotFoundError(error.localized(translations())) from None
                if isinstance(error, Conflict):
                    raise ConflictError(error.localized(translations())) from None
                if isinstance(error, Unprocessable):
                    raise UnprocessableEntityError(error.localized(translations())) from None
                if isinstance(error, TooLarge):
                    limit = {"Limit": error.params["limit"], "MaxBytes": error.params["max_bytes"]}
                    return _refusal(413, "RequestEntityTooLargeError", error.localized(translations()), **limit)
                if isinstance(error, Gone):
                    return _refusal(410, "GoneError", error.localized(translations()))
                if isinstance(error, Forbidden):
                    return _refusal(403, "ForbiddenError", error.localized(translations()), **_required_role(error))
                if isinstance(error, auth.Unauthenticated):
                    return _refusal(401, "UnauthorizedError", str(error))
                if isinstance(error, auth.IdentityProviderUnavailable):
                    logger.exception("the identity provider refused a call")
                    return _refusal(
                        503, "ServiceUnavailableError", "The identity provider cannot be reached: try again."
                    )
                raise
            _complete_idempotency_key(response)
            return response

        return app.route(path, methods=list(methods))(handle)

    return decorate


def _claim_idempotency_key():
    """Claims the caller's key for this request, or returns the first response to replay (None: no header)."""
    request = app.current_request
    key = (request.headers or {}).get(idempotency.HEADER)
    if key is None:
        return None
    path = [request.context.get("resourcePath", ""), request.uri_params or {}]
    fingerprint = idempotency.fingerprint(request.method, path, json_body())
    started = idempotency.begin(runtime.table(), agent_id(), key, fingerprint, int(time.time()))
    if isinstance(started, idempotency.Replay):
        return started
    request.deskmail_claim = started
    return None


def commit_updates():
    """What must commit with the request's writes: its Idempotency-Key claim, if it has one."""
    claim = getattr(app.current_request, "deskmail_claim", None)
    return [claim.committed_update(runtime.table())] if claim else []


def _release_idempotency_key():
    claim = getattr(app.current_request, "deskmail_claim", None)
    if claim:
        idempotency.release(runtime.table(), claim)


def _complete_idempotency_key(response):
    claim = getattr(app.current_request, "deskmail_claim", None)
    if claim:
        status, body = (response.status_code, response.body) if isinstance(response, Response) else (200, response)
        try:
            idempotency.complete(runtime.table(), claim, status, body)
        except Exception:  # the request did happen: a retry is answered 409 ("look the result up"), not redone
            logger.exception("Idempotency-Key response not kept")


def _required_role(error):
    return {"RequiredRole": error.params["role"]} if "role" in error.params else {}


def public_page(path):
    """A route of the page shell: open, same-origin (no CORS headers)."""
    _declare(path, ["GET"], PUBLIC)
    return app.route(path)


def json_body():
    """The request's JSON body, parsed once by chalicelib.request_json (depth, Unicode, numbers, duplicate keys).

    Only POST, PUT and PATCH take a body; any other method's body is ignored, as before.
    """
    request = app.current_request
    if not hasattr(request, "deskmail_json"):
        takes_body = request.method in ("POST", "PUT", "PATCH")
        request.deskmail_json = request_json.parse(request.raw_body) if takes_body else None
    return request.deskmail_json


def created(body):
    return Response(body=body, status_code=201, headers={"Content-Type": "application/json"})


def translations():
    request = app.current_request
    explicit = (request.query_params or {}).get("locale")
    return i18n.translations(i18n.negotiate_locale((request.headers or {}).get("accept-language"), explicit))


def agent_id():
    return signed_in_agent().user_id


def signed_in_agent():
    """The agent the middleware let through (its deskmail user id and role in force)."""
    found = app.current_request.context.get("authorizer") or {}
    return agents.SignedInAgent(user_id=found["principalId"], role=found["role"], subject=found["subject"])


def query(name):
    return (app.current_request.query_params or {}).get(name)


@api("/health", role=PUBLIC)
def health():
    return {"status": "ok"}


@api("/users", methods=["POST"], role=auth.AGENT)
def create_user():
    body = json_body()
    if agents.wants_agent(body):  # an agent user signs in: for an admin this is POST /agents, for an agent 403
        agents.require(signed_in_agent(), auth.ADMIN)
        return created(views.user_view(agents.invite(runtime.table(), runtime.directory(), body, utc_now)))
    return created(views.user_view(workspace.create_user(runtime.table(), body, utc_now)))


@api("/users/{user_id}", role=auth.AGENT)
def get_user(user_id):
    user = views.user_view(workspace.get_user(runtime.table(), user_id))
    return {**user, "deliverability": protection.user_deliverability(runtime.table(), settings(), user_id, utc_now())}


@api("/users/{user_id}/deliverability/reset", methods=["POST"], role=auth.AGENT)
def reset_deliverability(user_id):
    acting = agents.actor(runtime.table(), signed_in_agent())
    protection.reset_deliverability(runtime.table(), user_id, acting["id"], utc_now, acting["name"])
    return {"deliverability": protection.user_deliverability(runtime.table(), settings(), user_id, utc_now())}


@api("/users/{user_id}", methods=["PATCH"], role=auth.AGENT)
def update_user(user_id):
    return views.user_view(workspace.update_user(runtime.table(), user_id, json_body(), utc_now))


@api("/tickets", methods=["POST"], role=auth.AGENT, idempotent=True)
def create_ticket():
    body = agents.ticket_as(signed_in_agent(), json_body())
    acting = agents.actor(runtime.table(), signed_in_agent())
    result = workspace.create_ticket(
        runtime.table(), runtime.mailer(), settings(), body, utc_now, acting=acting, commit_updates=commit_updates()
    )
    return created({**views.ticket_view(result["ticket"], result["tags"]), "comment_id": result["comment"].id})


@api("/tickets", role=auth.AGENT)
def list_tickets():
    if query("tag") is None:  # the ticket list and search (?q=, ?status=); ?tag= keeps its tag view
        return views.find_tickets(runtime.table(), query("q"), query("status"), query("next_page"), utc_now())
    return views.tagged_tickets(runtime.table(), query("tag"), query("next_page"))


@api("/tickets/{ticket_id}", role=auth.AGENT)
def get_ticket(ticket_id):
    return views.ticket_view(*workspace.get_ticket(runtime.table(), ticket_id))


@api("/tickets/{ticket_id}/tags", methods=["PUT"], role=auth.AGENT)
def set_tags(ticket_id):
    acting = agents.actor(runtime.table(), signed_in_agent())
    return {"tags": workspace.set_tags(runtime.table(), ticket_id, json_body(), utc_now, acting)}


@api("/tickets/{ticket_id}/comments", methods=["POST"], role=auth.AGENT, idempotent=True)
def add_comment(ticket_id):
    body = agents.comment_as(signed_in_agent(), json_body())
    comment = workspace.add_comment(
        runtime.table(),
        runtime.mailer(),
        settings(),
        ticket_id,
        body,
        utc_now,
        commit_updates=commit_updates(),
        files=runtime.files() if body.get("attachment_ids") else None,
    )
    return created(
        {
            "id": comment.id,
            "ticket_id": comment.ticket_id,
            "created_at": comment.created_at,
            "triggers": list(comment.trigger_evaluations),
            "attachments": [attachments.view(attachment) for attachment in comment.attachments],
        }
    )


@api("/tickets/{ticket_id}/comments", role=auth.AGENT)
def list_comments(ticket_id):
    return views.conversation(runtime.table(), ticket_id, query("next_page"), translations())


@api("/tickets/{ticket_id}/attachments", methods=["POST"], role=auth.AGENT)
def create_attachment(ticket_id):
    return created(
        attachments.create_upload(runtime.table(), runtime.files(), settings(), ticket_id, json_body(), utc_now())
    )


@api("/tickets/{ticket_id}/attachments/{attachment_id}", role=auth.AGENT)
def download_attachment(ticket_id, attachment_id):
    return attachments.download(runtime.table(), runtime.files(), settings(), ticket_id, attachment_id)


@api("/files/{token}", role=PUBLIC)
def download_link(token):
    """A customer's emailed link: the token is the permission (256 bits, expiring); 302 to a short presigned GET."""
    url = attachments.open_link(runtime.table(), runtime.files(), settings(), token, int(time.time()))
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"})


@api("/tickets/{ticket_id}/events", role=auth.AGENT)
def list_events(ticket_id):
    return views.ticket_events(runtime.table(), ticket_id, query("next_page"), translations())


@api("/tickets/{ticket_id}/recipient-check", methods=["POST"], role=auth.AGENT)
def recipient_check(ticket_id):
    body = agents.recipient_check_as(signed_in_agent(), json_body())
    return protection.recipient_check(runtime.table(), settings(), ticket_id, body, utc_now(), translations())


@api("/delivery-failures", role=auth.AGENT)
def list_delivery_failures():
    return protection.list_failures(runtime.table(), app.current_request.query_params or {}, translations())


@api("/delivery-failures/resolve", methods=["POST"], role=auth.AGENT)
def resolve_delivery_failures():
    acting = agents.actor(runtime.table(), signed_in_agent())
    return protection.resolve_failures(runtime.table(), json_body(), acting["id"], utc_now, acting["name"])


@api("/reputation", role=auth.AGENT)
def get_reputation():
    return protection.reputation_report(runtime.table(), utc_now())


@app.schedule("rate(15 minutes)")
def publish_reputation(event):
    """Bounce and complaint rates as metrics, for alarms that fire before SES reviews the account."""
    protection.publish_reputation_metrics(protection.reputation_windows(runtime.table(), utc_now()))


@app.schedule("rate(5 minutes)")
def sweep_outbox(event):
    """Sends, records or fails notifications a crash left open between the outbox record and SES (exactly once)."""
    outbox.sweep(runtime.table(), runtime.mailer(), utc_now)


@api("/triggers", role=auth.AGENT)
def list_triggers():
    return {"triggers": [views.trigger_view(t) for t in workspace.list_triggers(runtime.table())]}


@api("/triggers/{trigger_id}", methods=["PATCH"], role=auth.ADMIN)
def update_trigger(trigger_id):
    acting = agents.actor(runtime.table(), signed_in_agent())
    return views.trigger_view(workspace.set_trigger_active(runtime.table(), trigger_id, json_body(), utc_now, acting))


# Per-trigger email templates: admins edit them; previews too (they render any ticket for any user).
@api("/triggers/{trigger_id}/templates", role=auth.ADMIN)
def list_trigger_templates(trigger_id):
    return trigger_templates.list_templates(runtime.table(), trigger_id)


@api("/triggers/{trigger_id}/templates/{locale}", methods=["PUT"], role=auth.ADMIN)
def put_trigger_template(trigger_id, locale):
    return trigger_templates.put_template(
        runtime.table(), trigger_id, locale, app.current_request.json_body, agent_id(), utc_now
    )


@api("/triggers/{trigger_id}/preview", methods=["POST"], role=auth.ADMIN)
def preview_trigger(trigger_id):
    return trigger_templates.preview(runtime.table(), settings(), trigger_id, app.current_request.json_body)


@api("/smtp-codes/{code}", role=auth.AGENT)
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


@public_page("/")
def workspace_page():
    return _page_asset("index.html")


@public_page("/static/{name}")
def workspace_asset(name):
    return _page_asset(name)


@public_page("/static/i18n/{name}")
def workspace_strings(name):
    return _page_asset(f"i18n/{name}")


# ---- "my customer got no email": diagnostics, suppression list, resend, inbound replies (loop-safe) ---------------


@api("/tickets/{ticket_id}/diagnostics", role=auth.AGENT)
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


@api("/suppressions/{email}", role=auth.AGENT)
def get_suppression(email):
    return suppression.lookup(runtime.suppression_list(), email)


@api("/suppressions/{email}", methods=["DELETE"], role=auth.ADMIN)
def delete_suppression(email):
    acting = agents.actor(runtime.table(), signed_in_agent())
    return suppression.remove(runtime.suppression_list(), runtime.table(), email, acting["id"], utc_now, acting["name"])


@api("/tickets/{ticket_id}/comments/{comment_id}/resend", methods=["POST"], role=auth.AGENT, idempotent=True)
def resend_comment(ticket_id, comment_id):
    return created(
        resend.resend(
            runtime.table(),
            runtime.mailer(),
            settings(),
            ticket_id,
            comment_id,
            json_body(),
            utc_now,
            agents.actor(runtime.table(), signed_in_agent()),
            commit_updates(),
        )
    )


@api("/inbound/suspended", role=auth.AGENT)
def list_suspended_inbound():
    return inbound.list_suspended(runtime.table(), query("next_page"))


@api("/inbound/suspended/{suspended_id}/recover", methods=["POST"], role=auth.AGENT)
def recover_suspended_inbound(suspended_id):
    return inbound.recover_suspended(runtime.table(), runtime.mailer(), settings(), suspended_id, utc_now)


@api("/inbound/suspended/{suspended_id}", methods=["DELETE"], role=auth.AGENT)
def delete_suspended_inbound(suspended_id):
    return inbound.delete_suspended(runtime.table(), suspended_id)


@app.on_sqs_message(queue=INBOUND_QUEUE, batch_size=10, maximum_batching_window_in_seconds=5)
def handle_inbound_email(event):
    """SES receipt rule -> SNS -> SQS: replies become comments; automated mail is only recorded (no loops)."""
    return inbound.handle(
        event.to_dict(),
        event.context,
        runtime.table(),
        runtime.mailer(),
        settings(),
        utc_now,
        int(time.time()),
        runtime.inbound_store(),
        runtime.files() if settings().attachments_bucket else None,
    )


# ---- agents and sign-in ---------------------------------------------------------------------------------------------


@api("/me", role=auth.AGENT)
def get_me():
    return agents.me(runtime.table(), signed_in_agent())


@api("/agents", methods=["POST"], role=auth.ADMIN)
def invite_agent():
    user = agents.invite(runtime.table(), runtime.directory(), json_body(), utc_now)
    return created(agents.agent_view(runtime.table(), user.id))


@api("/agents/{user_id}", role=auth.ADMIN)
def get_agent(user_id):
    return agents.agent_view(runtime.table(), user_id)


@api("/agents/{user_id}", methods=["PATCH"], role=auth.ADMIN)
def update_agent(user_id):
    return agents.update(runtime.table(), runtime.directory(), user_id, json_body(), utc_now)


# The page signs in through these (same origin: no CORS), with Cognito's public app client (no secret).
@api("/auth/sign-in", methods=["POST"], role=PUBLIC)
def sign_in():
    return agents.sign_in(runtime.directory(), json_body())


@api("/auth/new-password", methods=["POST"], role=PUBLIC)
def sign_in_new_password():
    return agents.new_password(runtime.directory(), json_body())


@api("/auth/refresh", methods=["POST"], role=PUBLIC)
def sign_in_refresh():
    return agents.refresh(runtime.directory(), json_body())

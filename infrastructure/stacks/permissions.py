"""Which AWS calls each Lambda function of app.py makes, as IAM actions: one role per function grants exactly these.

tests/infrastructure/test_roles.py runs the app's own tests on moto with a botocore hook per client and checks that
every role allows exactly the calls recorded for its function, plus UNEXERCISED (calls the code makes that the moto
tests cannot reach, each with its reason). Infrastructure grants (logs, X-Ray, KMS for encrypted resources, the SQS
calls of an event source mapping, the schedule's on-failure destination) are added by the stack on top, by
function kind, and the test names them too.
"""

from __future__ import annotations

# The function behind every route is Chalice's `api_handler`; the others are named by their Python function.
API_FUNCTION = "api_handler"

COGNITO_CALLS = frozenset(
    {
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminAddUserToGroup",
        "cognito-idp:AdminRemoveUserFromGroup",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminUserGlobalSignOut",  # a disabled agent's refresh tokens are revoked too
        "cognito-idp:AdminEnableUser",
        "cognito-idp:AdminGetUser",
        # Public Cognito APIs (no IAM check), granted so the proxy routes work with a signed client too.
        "cognito-idp:InitiateAuth",
        "cognito-idp:RespondToAuthChallenge",
    }
)

# Which bucket each function's S3 calls reach ("inbound": raw mail SES stores under inbound/; "attachments": comments'
# files under attachments/). The stack grants each there and nowhere else; the feedback consumer has none.
# Every function that sends notifications reads the files it attaches inline (chalicelib/adapters/ses.py).
S3_CALLS: dict[str, dict[str, frozenset[str]]] = {
    API_FUNCTION: {"attachments": frozenset({"s3:PutObject", "s3:GetObject"})},
    "handle_inbound_email": {
        "inbound": frozenset({"s3:GetObject"}),
        # Stores a reply's files (PutObject); reads files to attach when the reply's comment notifies others.
        "attachments": frozenset({"s3:PutObject", "s3:GetObject"}),
    },
    "sweep_outbox": {"attachments": frozenset({"s3:GetObject"})},
}

# Operations whose IAM action has another name (Service Authorization Reference): test_roles compares the recorded
# operations through this map. HeadObject is authorised by s3:GetObject; CopyObject needs both ends' grants.
IAM_ACTION_OF: dict[str, frozenset[str]] = {
    "s3:HeadObject": frozenset({"s3:GetObject"}),
    "s3:CopyObject": frozenset({"s3:GetObject", "s3:PutObject"}),
    "s3:ListObjectsV2": frozenset({"s3:ListBucket"}),
}

# Calls no client makes at run time: a presigned URL or POST is signed locally with the function's credentials and
# S3 checks the role's permission when the browser uses it. test_roles accepts them when the source signs one.
PRESIGNED: dict[str, str] = {"s3:PutObject": ".generate_presigned_post(", "s3:GetObject": ".generate_presigned_url("}

APP_CALLS: dict[str, frozenset[str]] = {
    API_FUNCTION: frozenset(
        {
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            # The outbox and Idempotency-Key transactions, and releasing a key after a failure (issue 12).
            "dynamodb:TransactWriteItems",
            "dynamodb:DeleteItem",
            "ses:SendEmail",
            "ses:GetEmailIdentity",
            "ses:GetSuppressedDestination",
            "ses:DeleteSuppressedDestination",
            # Sign-in and agent management (issue 13), on deskmail's user pool only.
            *COGNITO_CALLS,
            # Attachments (issue 18): the browser uploads with a presigned POST and downloads with a presigned GET,
            # both signed with this role, which S3 checks; one ranged GetObject checks an upload's size (its
            # Content-Range) and sniffs its type; files are read to send them inline.
            *S3_CALLS[API_FUNCTION]["attachments"],
        }
    ),
    # Feedback records what SES says; it never sends email nor reads a secret.
    # UpdateItem: the other-senders counter (ADD), one call per batch. TransactWriteItems: a batch's new hard bounces
    # and complaints, each put only if new, with the reputation counters' ADD (counted exactly once).
    "handle_ses_feedback": frozenset(
        {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem", "dynamodb:TransactWriteItems"}
    ),
    "handle_inbound_email": frozenset(
        {
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",  # the inbound claim and held ("suspended") mail, read by key
            "dynamodb:BatchWriteItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:TransactWriteItems",
            # Releases an inbound claim when applying the reply fails.
            "dynamodb:DeleteItem",
            "ses:SendEmail",
            *S3_CALLS["handle_inbound_email"]["inbound"],
            # The files of a customer's emailed reply, kept with the comment it creates (issue 18), and read back
            # to attach to the notifications that comment sends.
            *S3_CALLS["handle_inbound_email"]["attachments"],
        }
    ),
    # The sharded hourly counters: one BatchGetItem of 90 keys (issue 15).
    "publish_reputation": frozenset({"dynamodb:BatchGetItem"}),
    # The outbox sweep (issue 12): finds notifications left pending, sends, records or fails them.
    "sweep_outbox": frozenset(
        {
            "dynamodb:Query",
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:TransactWriteItems",
            "ses:SendEmail",
            *S3_CALLS["sweep_outbox"]["attachments"],  # files attached inline to a notification it sends
        }
    ),
}

# Calls in APP_CALLS that the moto tests do not reach, and why; "contract:" marks a call another change adds.
UNEXERCISED: dict[str, dict[str, str]] = {
    API_FUNCTION: {
        "ses:GetSuppressedDestination": "the tests run the local suppression backend (moto lacks these calls)",
        "ses:DeleteSuppressedDestination": "the tests run the local suppression backend (moto lacks these calls)",
        "dynamodb:TransactWriteItems": "contract: the outbox and Idempotency-Key transactions (issue 12, hostile)",
        "dynamodb:DeleteItem": "contract: an Idempotency-Key released after a failed request (issue 12, hostile)",
        **{
            action: "contract: sign-in proxy routes and agent management (issue 13, signin engineer)"
            for action in COGNITO_CALLS
        },
        "s3:PutObject": "presigned: the browser's upload (a presigned POST) is the only put; no client call",
    },
    "handle_inbound_email": {
        "s3:GetObject": "contract: mail stored by the S3 receipt action (COMMON.md), and a reply's files sent "
        "inline to the other participants (issue 18)",
        "dynamodb:UpdateItem": "contract: the outbox's claimed-then-sent notifications (issue 12, hostile)",
        "dynamodb:TransactWriteItems": "contract: the outbox transaction of a reply's comment (issue 12, hostile)",
        "dynamodb:DeleteItem": "released only when applying a reply fails, which no moto test provokes",
        "s3:PutObject": "contract: an emailed reply's files stored as its comment's attachments (issue 18, attach)",
    },
    "sweep_outbox": {
        action: "contract: the outbox sweep (issue 12) is not in app.py yet; its role is used once it is"
        for action in APP_CALLS["sweep_outbox"]
    },
}

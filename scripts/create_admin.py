"""The first admin of a deployment: `python -m scripts.create_admin --name "Ada Admin" --email ada@example.com`.

Run it once after `cdk deploy`, with the deployed stack's settings in the environment (DESKMAIL_TABLE_NAME,
DESKMAIL_COGNITO_USER_POOL_ID, DESKMAIL_COGNITO_CLIENT_ID, DESKMAIL_AUTH_ISSUER, AWS credentials and region).
Cognito emails the admin a temporary password; the first sign-in on the page asks for a new one. Every further
agent is invited by an admin (POST /agents).
"""

from __future__ import annotations

import argparse
import sys

from chalicelib import runtime
from chalicelib.errors import DeskmailError
from chalicelib.ids import utc_now
from chalicelib.services import agents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", help="a permanent password instead of Cognito's emailed temporary one")
    options = parser.parse_args(argv)
    try:
        user = agents.create_admin(
            runtime.table(), runtime.directory(), options.name, options.email, utc_now, options.password
        )
    except DeskmailError as error:
        print(f"not created: {error}", file=sys.stderr)
        return 1
    print(f"admin {user.name} <{user.email}> created: deskmail user {user.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What RS256 sign-in adds to the API function: the first token check in a fresh interpreter (PyJWT + cryptography
imported then, lazily), against the HS256 check deskmail used before, and the zipped size of `cryptography`.

`python -m bench.auth_cold_start` prints the figures and merges them into .local/bench.json under "auth".
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.cold_start import child_environment
from bench.environment import PROJECT_DIR

RUNS = 9
RS256_CHILD = """
import json, os, time
started = time.perf_counter()
from chalicelib import auth
from chalicelib.config import AuthSettings
settings = AuthSettings(issuer=os.environ["ISSUER"], jwks_url="unused", audience="client")
verifier = auth.TokenVerifier(settings, fetch=lambda url: json.loads(os.environ["JWKS"]))
verifier.verify("Bearer " + os.environ["TOKEN"])
print(time.perf_counter() - started)
"""
# PyJWT imports cryptography whenever it is installed: block it, as a package without it would be.
HS256_CHILD = """
import os, sys, time
sys.modules["cryptography"] = None
started = time.perf_counter()
import jwt
jwt.decode(os.environ["TOKEN"], "secret-secret-secret-secret-secret", algorithms=["HS256"], audience="deskmail-agents")
print(time.perf_counter() - started)
"""


def _tokens() -> dict[str, str]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench"
    claims = {"sub": "s", "iss": issuer, "exp": int(time.time()) + 3600, "token_use": "access", "client_id": "client"}
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k", "alg": "RS256"}
    return {
        "rs256": jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k"}),
        "hs256": jwt.encode(
            {"sub": "s", "aud": "deskmail-agents", "exp": claims["exp"]},
            "secret-secret-secret-secret-secret",
            algorithm="HS256",
        ),
        "jwks": json.dumps({"keys": [jwk]}),
        "issuer": issuer,
    }


def _run(code: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env={**child_environment(), **env},
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise RuntimeError(result.stderr)
    return float(result.stdout.strip())


def first_check_ms(runs: int = RUNS) -> dict:
    tokens = _tokens()
    rs_env = {"TOKEN": tokens["rs256"], "JWKS": tokens["jwks"], "ISSUER": tokens["issuer"]}
    hs_env = {"TOKEN": tokens["hs256"]}
    _run(RS256_CHILD, rs_env), _run(HS256_CHILD, hs_env)  # warm-up: bytecode compiled once
    rs, hs = [], []
    for _ in range(runs):
        rs.append(_run(RS256_CHILD, rs_env))
        hs.append(_run(HS256_CHILD, hs_env))
    return {
        "runs": runs,
        "rs256_first_check_ms": statistics.median(rs) * 1e3,
        "hs256_first_check_ms": statistics.median(hs) * 1e3,
        "added_ms": (statistics.median(rs) - statistics.median(hs)) * 1e3,
    }


def cryptography_zip_bytes() -> dict:
    """cryptography and what it pulls in (cffi, pycparser), installed from requirements' pin and zipped."""
    pin = next(
        line.strip()
        for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines()
        if line.startswith("cryptography")
    )
    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch) / "site"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-t", str(site), pin],
            check=True,
            capture_output=True,
        )
        archive = Path(scratch) / "crypto.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as package:
            for path in site.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    package.write(path, path.relative_to(site))
        wheels = sorted(p.name for p in site.iterdir() if p.name.endswith(".dist-info"))
        return {"zip_bytes": archive.stat().st_size, "wheels": wheels}


def main() -> None:
    figures = {**first_check_ms(), "cryptography_package": cryptography_zip_bytes()}
    print(json.dumps(figures, indent=2))
    path = PROJECT_DIR / ".local" / "bench.json"
    path.parent.mkdir(exist_ok=True)
    existing = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**existing, "auth": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()

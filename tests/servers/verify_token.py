#!/usr/bin/env python3
"""Check an RDS IAM auth token the way RDS does, for pam_exec.

    auth required pam_exec.so expose_authtok quiet /usr/bin/python3 verify_token.py CONFIG

pam_exec gives the password on stdin and the login name in PAM_USER. The
password is accepted (exit 0) only if it is an unexpired SigV4 token for
`Action=connect` as exactly that user, for this server's host and port, in
the configured region, for service rds-db, signed with the configured access
key and secret key. Anything else is refused (exit 1).

CONFIG holds `key = value` lines: host, port, region, access_key,
secret_key, log, and optionally session_token (a token must then carry
exactly it; without it a token must carry none), and alias_host with
alias_region: a second name the server answers to (as an RDS endpoint
reached through a tunnel does), whose tokens are signed for that region;
and dsql_host with dsql_region: an Aurora DSQL cluster endpoint name the
server also answers to. A DSQL token is HOST/?Action=... with no port and
no DBUser, for service dsql, valid up to a week, with Action DbConnectAdmin
for the role admin and DbConnect for any other role.

Every decision is appended to the log as one line:

    <time> ACCEPT|REJECT service=<pam service> user=<PAM_USER> rhost=<PAM_RHOST> token_sha256=<16 hex> reason=<why>

`token_sha256` is the start of the SHA-256 of the password as received, so a
test can find the line for the token it sent without the log holding the
token. The secret key and the token are never logged.

The signature is recomputed here with hmac and hashlib from the token's own
X-Amz-Date, X-Amz-Expires and credential scope; nothing in this file comes
from rds-auth-token or from botocore. Python standard library only, so the
system python3 runs it as whatever user the database server runs as.
"""
import calendar
import hashlib
import hmac
import os
import sys
import time
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "rds-db"
MAX_EXPIRES = 900
# SigV4 allows a signing time up to five minutes ahead of the server's clock.
CLOCK_SKEW = 300
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# pam_exec passes at most PAM_MAX_RESP_SIZE bytes.
MAX_PASSWORD = 512 * 1024
REQUIRED = (
    "Action",
    "DBUser",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
OPTIONAL = ("X-Amz-Security-Token",)


class Refused(Exception):
    """The token is not valid; the message says why."""


def read_config(path):
    config = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"config line without '=': {line.split()[0]!r}")
            config[key.strip()] = value.strip()
    missing = [
        k
        for k in ("host", "port", "region", "access_key", "secret_key", "log")
        if not config.get(k)
    ]
    if missing:
        raise ValueError(f"config lacks {', '.join(missing)}")
    config["port"] = int(config["port"])
    return config


def uri_encode(text):
    """Percent-encode everything but the AWS unreserved set, as SigV4 does."""
    return urllib.parse.quote(text, safe="-_.~", encoding="utf-8", errors="strict")


def hmac_sha256(key, message):
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key, day, region, service=SERVICE):
    k_date = hmac_sha256(("AWS4" + secret_key).encode("utf-8"), day)
    k_region = hmac_sha256(k_date, region)
    k_service = hmac_sha256(k_region, service)
    return hmac_sha256(k_service, "aws4_request")


def expected_signature(config, params, service=SERVICE):
    """The signature of this GET request for the configured endpoint, with
    the token's own parameters (all but X-Amz-Signature)."""
    query = sorted(
        (uri_encode(k), uri_encode(v))
        for k, v in params.items()
        if k != "X-Amz-Signature"
    )
    canonical_query = "&".join(f"{k}={v}" for k, v in query)
    host = config["host"].lower()
    if config["port"] not in (443, None):
        host = f"{host}:{config['port']}"
    canonical_request = "\n".join(
        ["GET", "/", canonical_query, f"host:{host}", "", "host", EMPTY_SHA256]
    )
    amz_date = params["X-Amz-Date"]
    scope = f"{amz_date[:8]}/{config['region']}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    key = signing_key(config["secret_key"], amz_date[:8], config["region"], service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def parse_query(query):
    """A token's query parameters, each once, decoded."""
    params = {}
    for pair in query.split("&"):
        raw_key, sep, raw_value = pair.partition("=")
        if not sep:
            raise Refused(f"query parameter {raw_key!r} has no value")
        try:
            key = urllib.parse.unquote(raw_key, errors="strict")
            value = urllib.parse.unquote(raw_value, errors="strict")
        except UnicodeDecodeError:
            raise Refused(f"query parameter {raw_key!r} is not UTF-8") from None
        if key in params:
            raise Refused(f"query parameter {key!r} appears twice")
        params[key] = value
    return params


def parse_token(token):
    if "://" in token.partition("?")[0]:
        raise Refused("the token starts with a URL scheme; RDS tokens have none")
    authority, sep, query = token.partition("/?")
    if not sep:
        raise Refused("the token is not HOST:PORT/?QUERY")
    host, sep, port = authority.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise Refused(f"the token's endpoint {authority!r} is not HOST:PORT")
    return host, int(port), parse_query(query)


DSQL_SERVICE = "dsql"
DSQL_MAX_EXPIRES = 604800
DSQL_REQUIRED = tuple(k for k in REQUIRED if k != "DBUser")


def check_dsql(config, user, token, now):
    """A DSQL token for dsql_host: the reason it is good, or raises Refused."""
    host, sep, query = token.partition("/?")
    if not sep or host.lower() != config["dsql_host"].lower():
        raise Refused(f"the token is for {host!r}, not the DSQL endpoint {config['dsql_host']!r}")
    params = parse_query(query)
    missing = [k for k in DSQL_REQUIRED if k not in params]
    if missing:
        raise Refused(f"the token lacks {', '.join(missing)}")
    unknown = sorted(k for k in params if k not in DSQL_REQUIRED + OPTIONAL)
    if unknown:
        raise Refused(f"the token has unexpected parameters {', '.join(unknown)}")
    action = "DbConnectAdmin" if user == "admin" else "DbConnect"
    if params["Action"] != action:
        raise Refused(f"Action is {params['Action']!r}, the role {user!r} needs {action!r}")
    amz_date = params["X-Amz-Date"]
    signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    access_key, day, region, service, terminator = params["X-Amz-Credential"].split("/")
    if access_key != config["access_key"] or day != amz_date[:8] or terminator != "aws4_request":
        raise Refused("X-Amz-Credential does not name the configured key and the signing day")
    if region != config["dsql_region"] or service != DSQL_SERVICE:
        raise Refused(f"the token is signed for {region}/{service}, not {config['dsql_region']}/{DSQL_SERVICE}")
    expires = params["X-Amz-Expires"]
    if not expires.isdigit() or not 1 <= int(expires) <= DSQL_MAX_EXPIRES:
        raise Refused(f"X-Amz-Expires {expires!r} is not from 1 to {DSQL_MAX_EXPIRES}")
    if signed_at > now + CLOCK_SKEW or now >= signed_at + int(expires):
        raise Refused(f"the token signed at {amz_date} for {expires} s is not valid now")
    if params.get("X-Amz-Security-Token") != config.get("session_token"):
        raise Refused("the token's X-Amz-Security-Token is not the configured one")
    dsql = dict(config, host=config["dsql_host"], port=None, region=config["dsql_region"])
    if not hmac.compare_digest(expected_signature(dsql, params, DSQL_SERVICE), params["X-Amz-Signature"]):
        raise Refused("the signature does not match the configured secret key")
    return f"valid DSQL {action} token"


def check(config, user, token, now):
    """Returns the reason the token is good, or raises Refused."""
    if config.get("dsql_host") and token.lower().startswith(config["dsql_host"].lower() + "/?"):
        return check_dsql(config, user, token, now)
    host, port, params = parse_token(token)
    alias = config.get("alias_host")
    if alias and host.lower() == alias.lower():
        config = dict(config, host=alias, region=config["alias_region"])
    elif host.lower() != config["host"].lower():
        raise Refused(f"the token is for host {host!r}, this server is {config['host']!r}")
    if port != config["port"]:
        raise Refused(f"the token is for port {port}, this server listens on {config['port']}")
    missing = [k for k in REQUIRED if k not in params]
    if missing:
        raise Refused(f"the token lacks {', '.join(missing)}")
    unknown = sorted(k for k in params if k not in REQUIRED + OPTIONAL)
    if unknown:
        raise Refused(f"the token has unexpected parameters {', '.join(unknown)}")
    if params["Action"] != "connect":
        raise Refused(f"Action is {params['Action']!r}, not 'connect'")
    if params["DBUser"] != user:
        raise Refused(f"the token is for user {params['DBUser']!r}, the login is {user!r}")
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise Refused(f"X-Amz-Algorithm is {params['X-Amz-Algorithm']!r}, not {ALGORITHM}")
    if params["X-Amz-SignedHeaders"] != "host":
        raise Refused(f"X-Amz-SignedHeaders is {params['X-Amz-SignedHeaders']!r}, not 'host'")

    amz_date = params["X-Amz-Date"]
    try:
        if len(amz_date) != 16:
            raise ValueError(amz_date)
        signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise Refused(f"X-Amz-Date {amz_date!r} is not YYYYMMDDTHHMMSSZ") from None
    parts = params["X-Amz-Credential"].split("/")
    if len(parts) != 5:
        raise Refused("X-Amz-Credential is not KEY/DATE/REGION/SERVICE/aws4_request")
    access_key, day, region, service, terminator = parts
    if access_key != config["access_key"]:
        raise Refused(f"the token is signed by access key {access_key!r}, not the configured one")
    if day != amz_date[:8]:
        raise Refused(f"the credential scope's date {day} is not the day of X-Amz-Date {amz_date}")
    if region != config["region"]:
        raise Refused(f"the token is signed for region {region!r}, this server is in {config['region']!r}")
    if service != SERVICE:
        raise Refused(f"the token is signed for service {service!r}, not {SERVICE!r}")
    if terminator != "aws4_request":
        raise Refused(f"the credential scope ends in {terminator!r}, not 'aws4_request'")

    expires = params["X-Amz-Expires"]
    if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES:
        raise Refused(f"X-Amz-Expires {expires!r} is not a whole number from 1 to {MAX_EXPIRES}")
    if signed_at > now + CLOCK_SKEW:
        raise Refused(f"the token is signed at {amz_date}, more than {CLOCK_SKEW} s in the future")
    expires_at = signed_at + int(expires)
    if now >= expires_at:
        raise Refused(
            f"the token expired at {time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(expires_at))}"
            f" ({now - expires_at} s ago; signed at {amz_date} for {expires} s)"
        )

    session_token = params.get("X-Amz-Security-Token")
    if session_token != config.get("session_token"):
        if session_token is None:
            raise Refused("the token carries no X-Amz-Security-Token, the credentials need one")
        raise Refused("the token's X-Amz-Security-Token is not the configured session token")

    expected = expected_signature(config, params)
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        raise Refused("the signature does not match the configured secret key")
    return f"valid until {time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(expires_at))}"


def printable(text, spaces=False):
    """`text` on one log line: escapes what is not printable (and spaces in
    fields other than the reason, which comes last)."""
    return "".join(
        c if c.isprintable() and (spaces or c != " ") else f"\\x{ord(c):02x}"
        for c in text
    )


def main():
    if len(sys.argv) != 2:
        print("usage: verify_token.py CONFIG", file=sys.stderr)
        return 2
    config = read_config(sys.argv[1])
    user = os.environ.get("PAM_USER", "")
    raw = sys.stdin.buffer.read(MAX_PASSWORD)
    # Some pam_exec versions write the terminating NUL as well.
    raw = raw.rstrip(b"\0")
    fingerprint = hashlib.sha256(raw).hexdigest()[:16]
    try:
        if os.environ.get("PAM_TYPE") != "auth":
            raise Refused(f"PAM_TYPE is {os.environ.get('PAM_TYPE')!r}, only 'auth' checks a token")
        if not user:
            raise Refused("PAM_USER is empty")
        try:
            token = raw.decode("ascii")
        except UnicodeDecodeError:
            raise Refused("the password is not ASCII, so not a token") from None
        reason = check(config, user, token, int(time.time()))
        decision, status = "ACCEPT", 0
    except Refused as refused:
        reason = str(refused)
        decision, status = "REJECT", 1
    except Exception as error:  # a bug here: refuse, and say so in the log
        reason = f"verifier error: {type(error).__name__}: {error}"
        decision, status = "REJECT", 1
    line = (
        f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {decision}"
        f" service={printable(os.environ.get('PAM_SERVICE', ''))}"
        f" user={printable(user)}"
        f" rhost={printable(os.environ.get('PAM_RHOST', ''))}"
        f" token_sha256={fingerprint} reason={printable(reason, spaces=True)}\n"
    )
    with open(config["log"], "a", encoding="utf-8") as log:
        log.write(line)
    return status


if __name__ == "__main__":
    sys.exit(main())

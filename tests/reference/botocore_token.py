#!/usr/bin/env python3
"""Make RDS IAM auth tokens with botocore, the AWS CLI's own code, at a fixed time.

Reads one JSON object a line on stdin:
  {"hostname", "port", "username", "region", "access_key", "secret_key",
   "session_token" (or null), "timestamp" ("YYYYMMDDTHHMMSSZ"),
   optionally "expires_in" (seconds)}
and writes one JSON string (the token) a line on stdout.

This is the reference the differential tests compare against; nothing in it
comes from rds-auth-token.
"""
import datetime
import json
import sys

import botocore.auth
import botocore.session
from botocore.awsrequest import prepare_request_dict

session = botocore.session.get_session()
clients = {}


def client_for(case):
    key = (case["access_key"], case["secret_key"], case.get("session_token"))
    if key not in clients:
        clients[key] = session.create_client(
            "rds",
            region_name="us-east-1",
            aws_access_key_id=case["access_key"],
            aws_secret_access_key=case["secret_key"],
            aws_session_token=case.get("session_token"),
        )
    return clients[key]


def presign_with_expiry(client, case, expires_in):
    """botocore's own generate_db_auth_token (botocore/signers.py), step for
    step, but with `expires_in` where it passes a fixed 900."""
    params = {
        'Action': 'connect',
        'DBUser': case["username"],
    }
    request_dict = {
        'url_path': '/',
        'query_string': '',
        'headers': {},
        'body': params,
        'method': 'GET',
    }
    scheme = 'https://'
    endpoint_url = f'{scheme}{case["hostname"]}:{case["port"]}'
    prepare_request_dict(request_dict, endpoint_url)
    presigned_url = client._request_signer.generate_presigned_url(
        operation_name='connect',
        request_dict=request_dict,
        region_name=case["region"],
        expires_in=expires_in,
        signing_name='rds-db',
    )
    return presigned_url[len(scheme) :]


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        fixed = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
        botocore.auth.get_current_datetime = lambda *a, **k: fixed
        if case.get("expires_in") is not None:
            token = presign_with_expiry(
                client_for(case), case, case["expires_in"]
            )
        else:
            token = client_for(case).generate_db_auth_token(
                DBHostname=case["hostname"],
                Port=case["port"],
                DBUsername=case["username"],
                Region=case["region"],
            )
        print(json.dumps(token), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Make RDS IAM auth tokens with botocore, the AWS CLI's own code, at a fixed time.

Reads one JSON object a line on stdin:
  {"hostname", "port", "username", "region", "access_key", "secret_key",
   "session_token" (or null), "timestamp" ("YYYYMMDDTHHMMSSZ")}
and writes one JSON string (the token) a line on stdout.

This is the reference the differential tests compare against; nothing in it
comes from rds-auth-token.
"""
import datetime
import json
import sys

import botocore.auth
import botocore.session

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


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        fixed = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
        botocore.auth.get_current_datetime = lambda *a, **k: fixed
        token = client_for(case).generate_db_auth_token(
            DBHostname=case["hostname"],
            Port=case["port"],
            DBUsername=case["username"],
            Region=case["region"],
        )
        print(json.dumps(token), flush=True)


if __name__ == "__main__":
    main()

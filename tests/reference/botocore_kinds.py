#!/usr/bin/env python3
"""Make Aurora DSQL, ElastiCache and MemoryDB tokens with botocore, at a fixed time.

Reads one JSON object a line on stdin:
  {"kind": "dsql" | "dsql-admin" | "elasticache" | "memorydb",
   "name" (the DSQL host name, or the cache or cluster name),
   "user" (ElastiCache and MemoryDB), "serverless" (ElastiCache),
   "region", "expires_in", "access_key", "secret_key",
   "session_token" (or null), "timestamp" ("YYYYMMDDTHHMMSSZ")}
and writes one JSON string (the token) a line on stdout.

DSQL tokens come from botocore's own generate_db_connect_auth_token and
generate_db_connect_admin_auth_token (botocore 1.43.67 and later). No AWS SDK
has an ElastiCache or MemoryDB generator; those tokens are made as AWS's
samples and redis-py's documented IAM credential provider make them:
botocore's RequestSigner.generate_presigned_url of
http://NAME/?Action=connect&User=USER[&ResourceType=ServerlessCache],
without the scheme. Nothing here comes from rds-auth-token.
"""
import datetime
import json
import sys
from urllib.parse import urlencode

import botocore.auth
import botocore.session
from botocore.credentials import Credentials
from botocore.model import ServiceId
from botocore.signers import RequestSigner

session = botocore.session.get_session()
clients = {}


def dsql_client(case):
    key = (case["access_key"], case["secret_key"], case.get("session_token"))
    if key not in clients:
        clients[key] = session.create_client(
            "dsql",
            region_name="us-east-1",
            aws_access_key_id=case["access_key"],
            aws_secret_access_key=case["secret_key"],
            aws_session_token=case.get("session_token"),
        )
    return clients[key]


def cache_token(case, service):
    credentials = Credentials(
        case["access_key"], case["secret_key"], case.get("session_token")
    )
    signer = RequestSigner(
        ServiceId(service),
        case["region"],
        service,
        "v4",
        credentials,
        session.get_component("event_emitter"),
    )
    query = {"Action": "connect", "User": case["user"]}
    if case.get("serverless"):
        query["ResourceType"] = "ServerlessCache"
    url = "http://" + case["name"] + "/?" + urlencode(query)
    signed = signer.generate_presigned_url(
        {"method": "GET", "url": url, "body": {}, "headers": {}, "context": {}},
        operation_name="connect",
        expires_in=case["expires_in"],
        region_name=case["region"],
    )
    return signed[len("http://"):]


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        fixed = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
        botocore.auth.get_current_datetime = lambda *a, **k: fixed
        kind = case["kind"]
        if kind in ("dsql", "dsql-admin"):
            client = dsql_client(case)
            make = (
                client.generate_db_connect_admin_auth_token
                if kind == "dsql-admin"
                else client.generate_db_connect_auth_token
            )
            token = make(case["name"], case["region"], case["expires_in"])
        else:
            token = cache_token(case, kind)
        print(json.dumps(token), flush=True)


if __name__ == "__main__":
    main()

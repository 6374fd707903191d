#!/usr/bin/env python3
"""botocore's own credential cache code, for the cache tests.

  botocore_cache.py key KIND JSON
      Prints the cache key (the file name without .json) that botocore's
      fetcher computes. KIND is assume-role (JSON: the fetcher's extra_args
      plus "RoleArn"), web-identity (likewise, plus "TokenFile", the token's
      file), web-identity-botocore (the same with standalone botocore, whose
      key leaves the token out) or sso (JSON: "start_url", "role_name", "account_id" and
      optionally "sso_session_name").

The AWS CLI's own copy of botocore (awscli.botocore, AWS CLI v1 1.46 and
later) is used when there is one, standalone botocore otherwise.
  botocore_cache.py sso-write DIR JSON
      Runs botocore's SSOCredentialFetcher with a JSONFileCache in DIR and an
      SSO client that answers with JSON's "credentials" (accessKeyId,
      secretAccessKey, sessionToken, expiration in ms): botocore writes its
      cache file. Prints the key.
  botocore_cache.py sso-read DIR JSON
      Runs the same fetcher with an SSO client that fails if it is called, so
      the credentials must come from the cache file in DIR. Prints the access
      key id.

Nothing in it comes from rds-auth-token.
"""
import json
import sys

import botocore.credentials as standalone

try:
    # The AWS CLI v1 (1.46 and later) runs its own copy of botocore, whose web
    # identity key also holds the token: that copy is the reference for the
    # cache the AWS CLI reads.
    import awscli.botocore.credentials as aws_cli
except ImportError:
    aws_cli = standalone

AssumeRoleCredentialFetcher = aws_cli.AssumeRoleCredentialFetcher
SSOCredentialFetcher = aws_cli.SSOCredentialFetcher
JSONFileCache = aws_cli.JSONFileCache


class FakeSsoClient:
    def __init__(self, credentials):
        self._credentials = credentials

    def get_role_credentials(self, **kwargs):
        if self._credentials is None:
            raise AssertionError("the SSO client was called: the cache was not used")
        return {"roleCredentials": self._credentials}


def sso_fetcher(args, cache, credentials):
    client = FakeSsoClient(credentials)
    return SSOCredentialFetcher(
        start_url=args["start_url"],
        sso_region="us-east-1",
        role_name=args["role_name"],
        account_id=args["account_id"],
        client_creator=lambda *a, **k: client,
        token_loader=lambda url: {
            "accessToken": "bearer",
            "expiresAt": "2099-01-01T00:00:00Z",
        },
        cache=cache,
        sso_session_name=args.get("sso_session_name"),
    )


def main():
    command = sys.argv[1]
    if command == "key":
        kind, args = sys.argv[2], json.loads(sys.argv[3])
        if kind == "sso":
            print(sso_fetcher(args, {}, None)._cache_key)
            return
        role_arn = args.pop("RoleArn")
        if kind == "assume-role":
            fetcher = AssumeRoleCredentialFetcher(
                client_creator=None,
                source_credentials=None,
                role_arn=role_arn,
                extra_args=args,
            )
        else:
            token_file = args.pop("TokenFile", None)
            module = standalone if kind == "web-identity-botocore" else aws_cli
            fetcher = module.AssumeRoleWithWebIdentityCredentialFetcher(
                client_creator=None,
                web_identity_token_loader=lambda: open(token_file).read(),
                role_arn=role_arn,
                extra_args=args,
            )
        print(fetcher._cache_key)
    elif command == "sso-write":
        args = json.loads(sys.argv[3])
        fetcher = sso_fetcher(args, JSONFileCache(sys.argv[2]), args["credentials"])
        fetcher.fetch_credentials()
        print(fetcher._cache_key)
    elif command == "sso-read":
        args = json.loads(sys.argv[3])
        fetcher = sso_fetcher(args, JSONFileCache(sys.argv[2]), None)
        print(fetcher.fetch_credentials()["access_key"])
    else:
        sys.exit(f"unknown command {command}")


main()

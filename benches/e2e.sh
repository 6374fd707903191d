#!/usr/bin/env bash
# End-to-end benchmark: whole processes, the way scripts run the tool.
#
#   bash benches/e2e.sh            # full run (a few minutes, mostly the AWS CLI)
#   RUNS=3 CLI_RUNS=1 bash benches/e2e.sh   # smoke check, as CI runs it
#
# Times the release binary (scripts/build-release) with credentials from the
# environment, from a profile in a shared credentials file, and from the
# credential cache for an assume-role and an IAM Identity Center profile, the bare
# signer with no provider chain (examples/static_credentials.rs), the Aurora
# DSQL, ElastiCache and MemoryDB tokens beside RDS (environment credentials,
# each held to the RDS start-up budget), and, when it is installed,
# `aws rds generate-db-auth-token` with the same inputs, in the same run. Reports median wall time (hyperfine), peak resident memory
# (GNU time, median of several runs) and the ratio to the AWS CLI. It is a
# measurement, not a test: it fails only when it cannot measure, and when the
# stripped release binary is over its size budget, 12 MiB (checked right
# after the build, so .ci/run fails with it).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-500}
CLI_RUNS=${CLI_RUNS:-15}
MEM_RUNS=${MEM_RUNS:-15}

for tool in hyperfine python3; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is needed (apt-get install hyperfine python3)" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "e2e: GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 1; }

bin=$(scripts/build-release --example static_credentials)
bare="$(dirname "$bin")/examples/static_credentials"

# The size budget of the stripped release binary: 12 MiB.
size_limit=$((12 * 1024 * 1024))
size=$(wc -c <"$bin")
if ((size > size_limit)); then
  echo "e2e: the release binary $bin is $size bytes, over its budget of 12 MiB ($size_limit bytes)" >&2
  exit 1
fi
echo "release binary: $size bytes, within the 12 MiB budget ($size_limit bytes)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home/.aws"
key=AKIAIOSFODNN7EXAMPLE
secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
printf '[bench]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$key" "$secret" \
  > "$work/home/.aws/credentials"
# Credentials the AWS CLI (or this tool) cached for an assume-role and an
# IAM Identity Center profile, under botocore's keys: a token from them makes
# no request. Neither STS nor the SSO portal is reachable from here, so a
# miss fails the check below instead of being timed.
cat >"$work/home/.aws/config" <<'CONFIG'
[profile cached-role]
role_arn = arn:aws:iam::123456789012:role/db-connect
source_profile = bench
role_session_name = bench

[profile cached-sso]
sso_session = bench-sso
sso_account_id = 123456789012
sso_role_name = DbConnect

[sso-session bench-sso]
sso_region = us-east-1
sso_start_url = https://d-0123456789.awsapps.com/start
CONFIG
python3 - "$work/home/.aws/cli/cache" <<'PY'
import hashlib, json, os, sys
folder = sys.argv[1]
os.makedirs(folder, mode=0o700, exist_ok=True)
entry = {"Credentials": {"AccessKeyId": "ASIABENCHCACHED00001", "SecretAccessKey": "benchCachedSecret/0123456789abcdefghijkl",
                         "SessionToken": "benchCachedSessionToken", "Expiration": "2099-01-01T00:00:00Z"}}
# botocore's _create_cache_key: assume-role hashes json.dumps(args, sort_keys=True),
# SSO the same with separators=(",", ":").
role = json.dumps({"RoleArn": "arn:aws:iam::123456789012:role/db-connect", "RoleSessionName": "bench"}, sort_keys=True)
sso = json.dumps({"accountId": "123456789012", "roleName": "DbConnect", "sessionName": "bench-sso"}, sort_keys=True, separators=(",", ":"))
for args in (role, sso):
    with open(os.path.join(folder, hashlib.sha1(args.encode()).hexdigest() + ".json"), "w") as f:
        json.dump(entry, f)
PY
args="--hostname mydb.123456789012.us-east-1.rds.amazonaws.com --port 5432 --username jane_doe"
base_env=(env -i "PATH=$PATH" "HOME=$work/home" AWS_EC2_METADATA_DISABLED=true)
env_keys=("AWS_ACCESS_KEY_ID=$key" "AWS_SECRET_ACCESS_KEY=$secret")

# The AWS CLI users would run instead: the pinned current one
# (tests/python/current.lock), built by scripts/python-envs when missing.
envs=${RDS_AUTH_TOKEN_PYTHON_ENVS:-$PWD/target/python}
RDS_AUTH_TOKEN_PYTHON_ENVS=$envs bash scripts/python-envs
aws_cli="$envs/current/bin/aws rds generate-db-auth-token $args --region us-east-1"

# name | environment | command
cases=(
  "environment credentials|env|$bin $args"
  "profile credentials|profile|$bin $args --profile bench"
  "cached assume-role credentials|profile|$bin $args --profile cached-role"
  "cached SSO credentials|profile|$bin $args --profile cached-sso"
  "bare signer, no chain|env|$bare"
  "Aurora DSQL, environment credentials|env|$bin dsql --hostname abcdefghijklmnopqrst.dsql.us-east-1.on.aws --admin"
  "ElastiCache, environment credentials|env|$bin elasticache --cache-name my-cache --user-id iam-user-01 --region us-east-1"
  "ElastiCache serverless, environment credentials|env|$bin elasticache --cache-name my-cache --user-id iam-user-01 --region us-east-1 --serverless"
  "MemoryDB, environment credentials|env|$bin memorydb --cluster-name my-cluster --user-id iam-user-01 --region us-east-1"
)
cases+=("AWS CLI, environment credentials|env|$aws_cli" "AWS CLI, profile credentials|profile|$aws_cli --profile bench")

run_env() { # env|profile, then the command
  local which=$1; shift
  if [[ $which == env ]]; then "${base_env[@]}" "${env_keys[@]}" "$@"; else "${base_env[@]}" "$@"; fi
}

results="$work/results.tsv"
for entry in "${cases[@]}"; do
  IFS='|' read -r name which cmd <<<"$entry"
  runs=$RUNS
  [[ $cmd == "$aws_cli"* ]] && runs=$CLI_RUNS
  # Check it works before timing it (and that a cached case hits the cache).
  if [[ $name == cached* ]]; then
    # Whole output first: grep -q could close the pipe while --debug writes.
    debug=$(run_env "$which" $cmd --debug 2>&1 >/dev/null)
    grep -q ', from the cache$' <<<"$debug" ||
      { echo "e2e: $name: the credentials did not come from the cache" >&2; exit 1; }
  fi
  run_env "$which" $cmd >/dev/null
  run_env "$which" hyperfine --shell=none --warmup $((runs < 20 ? 1 : 20)) --runs "$runs" \
    --export-json "$work/h.json" --style none "$cmd" >/dev/null
  median=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/h.json")
  mems=()
  for _ in $(seq "$MEM_RUNS"); do
    mems+=("$(run_env "$which" /usr/bin/time -f %M $cmd 2>&1 >/dev/null | tail -n 1)")
  done
  mem=$(printf '%s\n' "${mems[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%s\t%s\t%s\n' "$name" "$median" "$mem" >>"$results"
done

python3 - "$results" "$bin" <<'PY'
import os, platform, subprocess, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
data = {name: (float(t), int(kib)) for name, t, kib in rows}
def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
print(f"machine: {cpu()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
print(f"binary: {sys.argv[2]}, {os.path.getsize(sys.argv[2]) / 2**20:.1f} MiB")
print()
print("| case | median wall time | peak memory | vs AWS CLI |")
print("| --- | --- | --- | --- |")
for name, (t, kib) in data.items():
    cli = data.get("AWS CLI, " + name.split(" credentials")[0] + " credentials") if "AWS CLI" not in name and ", " not in name else None
    ratio = f"{cli[0] / t:.0f}x faster" if cli and "credentials" in name else ""
    print(f"| {name} | {t * 1000:.2f} ms | {kib / 1024:.1f} MiB | {ratio} |")
print()
budget = [
    ("environment credentials", 2.0, 4.0),
    ("profile credentials", 3.0, 4.0),
    ("cached assume-role credentials", 3.0, 4.0),
    ("cached SSO credentials", 3.0, 4.0),
    # Every token kind meets the RDS start-up budget.
    ("Aurora DSQL, environment credentials", 2.0, 4.0),
    ("ElastiCache, environment credentials", 2.0, 4.0),
    ("ElastiCache serverless, environment credentials", 2.0, 4.0),
    ("MemoryDB, environment credentials", 2.0, 4.0),
]
for name, ms, mib in budget:
    t, kib = data[name]
    ok = t * 1000 <= ms and kib / 1024 <= mib
    print(f"budget {name}: <= {ms} ms and <= {mib} MiB: {'met' if ok else 'NOT met'}")
cli = data.get("AWS CLI, environment credentials")
if cli:
    ratio = cli[0] / data["environment credentials"][0]
    print(f"budget environment credentials >= 400x faster than the AWS CLI: {'met' if ratio >= 400 else 'NOT met'} ({ratio:.0f}x)")
PY

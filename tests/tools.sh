# Sourced by tests/run, infra/aws-local and infra/package: installs the pinned
# tools they need from PyPI into venvs under target/ (kept between runs), and
# starts peers on free loopback ports. Nothing here downloads from anywhere else.

MOTO_VERSION="5.2.5"
WAITRESS_VERSION="3.0.2"
CFN_LINT_VERSION="1.58.0"
SAM_CLI_VERSION="1.170.0"
CARGO_LAMBDA_VERSION="1.9.2"
AZURITE_VERSION="3.37.0"
SCHEMATHESIS_VERSION="4.32.5"
OPENAPI_SPEC_VALIDATOR_VERSION="0.7.2"
SELENIUM_VERSION="4.51.0"
PROMETHEUS_CLIENT_VERSION="0.26.0"
CHECKOV_VERSION="3.3.30"

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
tools_dir="$target_dir/test-tools"
mkdir -p "$tools_dir"
# SAM CLI must never try to send telemetry: the network here reaches registries only.
export SAM_CLI_TELEMETRY=0

# ensure_venv DIR CHECK_PYTHON PACKAGE...: (re)creates DIR unless CHECK_PYTHON passes in it.
ensure_venv() {
  local dir="$1" check="$2"
  shift 2
  if ! "$dir/bin/python" -c "$check" 2>/dev/null; then
    echo "== installing $* into $dir"
    if ! python3 -m venv "$dir" 2>/dev/null; then
      # Debian's system Python ships venv without ensurepip until python3-venv is installed.
      if command -v apt-get >/dev/null 2>&1; then
        echo "   python3 -m venv failed; installing python3-venv"
        apt-get update -qq && apt-get install -y -qq python3-venv
      fi
      rm -rf "$dir"
      python3 -m venv "$dir"
    fi
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  fi
}

pinned() { # a python check that each NAME==VERSION is installed
  local checks=""
  for spec in "$@"; do checks="$checks assert m.version('${spec%%==*}') == '${spec##*==}';"; done
  echo "import importlib.metadata as m;$checks"
}

ensure_moto() {
  moto_venv="$tools_dir/venv"
  ensure_venv "$moto_venv" "$(pinned "moto==$MOTO_VERSION" "waitress==$WAITRESS_VERSION") import flask" \
    "moto[server]==$MOTO_VERSION" "waitress==$WAITRESS_VERSION"
}

ensure_infra_tools() {
  infra_venv="$tools_dir/infra-venv"
  ensure_venv "$infra_venv" "$(pinned "cfn-lint==$CFN_LINT_VERSION" "aws-sam-cli==$SAM_CLI_VERSION")" \
    "cfn-lint==$CFN_LINT_VERSION" "aws-sam-cli==$SAM_CLI_VERSION"
}

# Schemathesis (property-based testing from the OpenAPI document) and
# openapi-spec-validator (that the document is valid OpenAPI 3.1).
ensure_schemathesis() {
  schemathesis_venv="$tools_dir/schemathesis-venv"
  ensure_venv "$schemathesis_venv" \
    "$(pinned "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION")" \
    "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"
}

# checkov, a security scanner for the templates (its own venv: its dependencies pin
# versions cfn-lint's would fight).
ensure_checkov() {
  checkov_venv="$tools_dir/checkov-venv"
  ensure_venv "$checkov_venv" "$(pinned "checkov==$CHECKOV_VERSION")" "checkov==$CHECKOV_VERSION"
}

# Prometheus' own Python client, whose parser reads the local server's /metrics
# the way a Prometheus scrape does (tests/tests/metrics.rs).
ensure_metrics_tools() {
  metrics_venv="$tools_dir/metrics-venv"
  ensure_venv "$metrics_venv" "$(pinned "prometheus_client==$PROMETHEUS_CLIENT_VERSION")" \
    "prometheus_client==$PROMETHEUS_CLIENT_VERSION"
}

# Headless Chromium and its WebDriver from Debian, Selenium from PyPI, for the cart
# page's browser test (tests/browser). Selenium is always given both by path, so it
# never looks for a browser or driver of its own (which would download one).
ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "== installing chromium and chromium-driver (Debian)"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium chromium-driver
  fi
  browser_venv="$tools_dir/browser-venv"
  ensure_venv "$browser_venv" "$(pinned "selenium==$SELENIUM_VERSION")" "selenium==$SELENIUM_VERSION"
  export SE_OFFLINE=true
}

# Every tool tests/run needs. CI runs this in the background while it compiles;
# each step is a quick check once its tool is in place.
ensure_test_tools() {
  ensure_moto
  ensure_infra_tools
  ensure_checkov
  ensure_cargo_lambda
  ensure_azurite
  ensure_redis
  ensure_schemathesis
  ensure_metrics_tools
  ensure_browser
}

ensure_cargo_lambda() {
  lambda_venv="$tools_dir/lambda-venv"
  ensure_venv "$lambda_venv" "$(pinned "cargo-lambda==$CARGO_LAMBDA_VERSION")" "cargo-lambda==$CARGO_LAMBDA_VERSION"
  export PATH="$lambda_venv/bin:$PATH"
}

# A free loopback port, chosen by the kernel.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls an HTTP URL until it answers (any status) or TIMEOUT seconds pass.
wait_for_http() {
  python3 - "$1" "${2:-30}" <<'PY'
import sys, time, urllib.request, urllib.error
url, limit = sys.argv[1], float(sys.argv[2])
deadline = time.time() + limit
while time.time() < deadline:
    try:
        urllib.request.urlopen(url, timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(f"{url} did not answer within {limit:.0f} s")
PY
}

# Decodes infra/template.yaml (intrinsics as {"Ref": ...}) with cfn-lint's own decoder.
decode_template() {
  "$infra_venv/bin/python" - infra/template.yaml "$1" <<'PY'
import json, sys
from cfnlint.decode import decode
template, errors = decode(sys.argv[1])
if errors:
    sys.exit(f"cannot decode {sys.argv[1]}: {errors}")
json.dump(template, open(sys.argv[2], "w"))
PY
}

# Waits until HOST:PORT accepts TCP connections or TIMEOUT seconds pass.
wait_for_port() {
  python3 - "$1" "$2" "${3:-30}" <<'PY'
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.time() + limit
while time.time() < deadline:
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(f"{host}:{port} did not accept connections within {limit:.0f} s")
PY
}

# Starts moto on a free port; sets MOTO_URL and appends its pid to `pids`.
# `start_moto iam` has moto enforce IAM: the first three requests create an
# administrator, whose key is exported as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
# for whatever provisions or inspects the emulation; every emulated function then
# runs as a principal holding only its own policies (infra/emulate/provision.py).
start_moto() {
  local port mode="${1:-}" no_auth=inf
  port="$(free_port)"
  [ "$mode" = iam ] && no_auth=3
  # With IAM, state machines act as the principal whose key id provision.py writes here.
  [ "$mode" = iam ] && export SKIFF_MOTO_STATE_MACHINE_KEY="$tools_dir/moto-$port-state-machine.key"
  # MOTO_PORT: moto builds some resource URLs from it, as `python -m moto.server` does.
  MOTO_PORT="$port" INITIAL_NO_AUTH_ACTION_COUNT="$no_auth" \
    "$moto_venv/bin/python" tests/peers/moto_server.py 127.0.0.1 "$port" \
    > "$tools_dir/moto-$port.log" 2>&1 &
  pids+=("$!")
  MOTO_URL="http://127.0.0.1:$port"
  wait_for_http "$MOTO_URL/moto-api/"
  if [ "$mode" = iam ]; then
    local key
    key="$("$moto_venv/bin/python" - "$MOTO_URL" <<'PY'
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="skiff-emulation-admin")
iam.put_user_policy(UserName="skiff-emulation-admin", PolicyName="admin", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="skiff-emulation-admin")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
PY
)"
    export AWS_ACCESS_KEY_ID="${key%% *}" AWS_SECRET_ACCESS_KEY="${key##* }"
  fi
}

# Azurite (Azure Storage emulator) from npm into target/test-tools/azurite.
ensure_azurite() {
  azurite_dir="$tools_dir/azurite"
  local installed
  installed="$(node -p "require('$azurite_dir/node_modules/azurite/package.json').version" 2>/dev/null || true)"
  if [ "$installed" != "$AZURITE_VERSION" ]; then
    echo "== installing azurite@$AZURITE_VERSION into $azurite_dir"
    mkdir -p "$azurite_dir"
    (cd "$azurite_dir" && npm install --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION")
  fi
}

# Starts Azurite (Table and Queue services, in memory) on free ports; sets
# AZURE_STORAGE (a connection string for its development account) and appends its
# pid to `pids`.
start_azurite() {
  local table_port queue_port
  table_port="$(free_port)"
  queue_port="$(free_port)"
  "$azurite_dir/node_modules/.bin/azurite" --silent --inMemoryPersistence --disableTelemetry \
    --skipApiVersionCheck --loose --blobPort "$(free_port)" \
    --queueHost 127.0.0.1 --queuePort "$queue_port" --tableHost 127.0.0.1 --tablePort "$table_port" \
    > "$tools_dir/azurite-$table_port.log" 2>&1 &
  pids+=("$!")
  wait_for_port 127.0.0.1 "$table_port"
  wait_for_port 127.0.0.1 "$queue_port"
  local key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
  AZURE_STORAGE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;TableEndpoint=http://127.0.0.1:$table_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;"
}

# Debian's redis-server (the Redis the ElastiCache and Azure Cache sessions tests
# talk to), installed with apt-get when it is missing.
ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "== installing redis-server (Debian)"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server
  fi
}

# start_redis [cluster] [DIR]: a redis-server on a free loopback port; sets REDIS_URL
# and REDIS_PORT and appends its pid to `pids`. No persistence unless DIR is given
# (then an append-only file fsynced on every write, which a restart reads back).
# `cluster` starts a one-node Redis Cluster that owns every hash slot.
start_redis() {
  local mode="${1:-}" dir="${2:-}" port
  port="$(free_port)"
  local args=(--port "$port" --bind 127.0.0.1 --save '' --daemonize no --logfile "$tools_dir/redis-$port.log")
  if [ -n "$dir" ]; then
    args+=(--dir "$dir" --appendonly yes --appendfsync always)
  else
    args+=(--appendonly no --dir "$tools_dir")
  fi
  if [ "$mode" = cluster ]; then
    # The cluster bus gets a free port of its own (by default it is port + 10000,
    # which does not exist above 55535).
    args+=(--cluster-enabled yes --cluster-port "$(free_port)"
      --cluster-config-file "$tools_dir/redis-cluster-$port.conf")
  fi
  redis-server "${args[@]}" &
  pids+=("$!")
  wait_for_port 127.0.0.1 "$port"
  if [ "$mode" = cluster ]; then
    redis-cli -p "$port" cluster addslotsrange 0 16383 >/dev/null
    until redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok'; do sleep 0.1; done
  fi
  REDIS_PORT="$port"
  REDIS_URL="redis://127.0.0.1:$port"
}

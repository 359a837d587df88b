#!/usr/bin/env bash
# Benchmarks a running Sluice end to end, side by side with its floors, and prints a
# Markdown report.
#
#   bash scripts/bench.sh            # DURATION=8s REPS=3 by default
#   SECTIONS="floors" bash scripts/bench.sh   # only the Runtime API floors table
#
# Sections (SECTIONS, space separated; default all):
#   floors  — the same Go bootstrap function behind (a) a bare Go server driving it over
#             the Runtime API with 1 worker, with N=32 workers (one invoke each at a
#             time: Sluice's instance model), and with 1 worker and
#             AWS_LAMBDA_MAX_CONCURRENCY=32 (Lambda Managed Instances mode), and (b)
#             Sluice's HTTP API $default route; wrk at c=1 and c=32, REPS interleaved
#             reps, medians, RSS of each target's whole process tree at c=32, and
#             Sluice's ratio to each floor; plus the same function on Lambda Managed
#             Instances (a capacity provider, PerExecutionEnvironmentMaxConcurrency=32,
#             $LATEST.PUBLISHED) behind its own HTTP API.
#   routes  — the REST API, HTTP API and Invoke API rows against the reverse-proxy floor.
#   cold    — hyperfine: a warm invoke vs a cold start (new instance) through curl.
#   edge    — the same Go function through a function URL (no router) against the HTTP
#             API $default route, and the HTTP API over the TLS listener (default
#             certificate, ECDSA P-256, keep-alive) against plain HTTP; interleaved.
#   offline — Node.js and Python functions behind Sluice's HTTP API against the same
#             handlers behind serverless-offline 13 (installed from npm into
#             OFFLINE_DIR on first use), c=1 and c=32, RSS of each process tree.
#   curves  — the scale benchmarks (route matching vs routes, recompile vs APIs,
#             CreateRoute vs routes) as a log-log SVG, CURVES_SVG
#             (docs/scale-curves.svg), drawn by scripts/benchplot.
#   control — the control plane: scripts/cpbench (aws-sdk-go-v2, 8 workers) on a
#             create/get/update mix of REST API resources, HTTP API routes and Lambda
#             functions against this sluice and moto_server (if installed), same run.
#   scale   — SCALE_FUNCTIONS (1000) Go functions created and invoked once each
#             (cpbench --scale-functions): create and cold-invoke latency of the first
#             and last hundred, a warm invoke before and after, RSS per idle function.
#   s3      — S3 GetObject/PutObject through presigned URLs (signature verified per
#             request) for 4 KiB and 16 MiB objects against the plain file server
#             floor, and Sluice's RSS while a 1 GiB object streams in and out.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8s}
REPS=${REPS:-3}
SECTIONS=${SECTIONS:-floors routes cold edge s3 offline control scale curves}
MOTO_PORT=${MOTO_PORT:-4597}
CP_DURATION=${CP_DURATION:-8s}
FILES_PORT=${FILES_PORT:-4598}
TLS_PORT=${TLS_PORT:-4578}
SLUICE_FLAGS=${SLUICE_FLAGS:-}
PORT=${PORT:-4577}
FLOOR_PORT=${FLOOR_PORT:-4599}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export GOFLAGS=-buildvcs=false AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=

go build -o "$work/sluice" ./cmd/sluice
go build -o "$work/benchfloor" ./scripts/benchfloor
go build -o "$work/cpbench" ./scripts/cpbench
(cd test/e2e/testdata/gofn && CGO_ENABLED=0 go build -o "$work/bootstrap" .)
(cd "$work" && zip -q fn.zip bootstrap)

# A default certificate for the TLS listener (the edge section).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=*.execute-api.localhost" \
  -addext "subjectAltName=DNS:*.execute-api.localhost,IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
"$work/sluice" serve --listen "127.0.0.1:$PORT" --tls-listen "127.0.0.1:$TLS_PORT" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" \
  --data-dir "$work/data" --log-level warn $SLUICE_FLAGS &
sluice_pid=$!
"$work/benchfloor" --listen "127.0.0.1:$FLOOR_PORT" &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/_sluice/health" >/dev/null && break; sleep 0.1; done

awsx() { aws --endpoint-url "http://127.0.0.1:$PORT" --output text "$@"; }
fn_arn=$(awsx lambda create-function --function-name bench --runtime provided.al2023 --handler bootstrap \
  --role arn:aws:iam::123456789012:role/bench --zip-file "fileb://$work/fn.zip" --query FunctionArn)
awsx lambda add-permission --function-name bench --statement-id apigw --action lambda:InvokeFunction \
  --principal apigateway.amazonaws.com --source-arn "arn:aws:execute-api:us-east-1:123456789012:*" >/dev/null

rest_id=$(awsx apigateway create-rest-api --name bench --query id)
root_id=$(awsx apigateway get-resources --rest-api-id "$rest_id" --query 'items[0].id')
proxy_id=$(awsx apigateway create-resource --rest-api-id "$rest_id" --parent-id "$root_id" --path-part '{proxy+}' --query id)
awsx apigateway put-method --rest-api-id "$rest_id" --resource-id "$proxy_id" --http-method ANY --authorization-type NONE >/dev/null
awsx apigateway put-integration --rest-api-id "$rest_id" --resource-id "$proxy_id" --http-method ANY --type AWS_PROXY \
  --integration-http-method POST --uri "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/$fn_arn/invocations" >/dev/null
awsx apigateway create-deployment --rest-api-id "$rest_id" --stage-name b >/dev/null
http_id=$(awsx apigatewayv2 create-api --name bench --protocol-type HTTP --target "$fn_arn" --query ApiId)
sleep 0.5

base="http://127.0.0.1:$PORT"
# Invoke API: open auth mode accepts a well-formed signature from an unknown key.
amzdate=$(date -u +%Y%m%dT%H%M%SZ)
cat > "$work/invoke.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"mode":"echo"}'
wrk.headers["X-Amz-Date"] = "$amzdate"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/${amzdate:0:8}/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(printf '0%.0s' $(seq 64))"
LUA

run_wrk() { # name conns url [wrk args...]
  local name=$1 c=$2 url=$3; shift 3
  local threads=1; [ "$c" -gt 1 ] && threads=2
  wrk -t"$threads" -c"$c" -d1s "$@" "$url" >/dev/null 2>&1 || true # warm up instances
  local out; out=$(wrk -t"$threads" -c"$c" -d"$DURATION" --latency "$@" "$url")
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$c" "$rps" "$p50" "$p99" "${non2xx:-0}"
}


has() { [[ " $SECTIONS " == *" $1 "* ]]; }

# tree_rss_mb PID: resident memory of PID and all its descendants, in MB.
tree_rss_mb() {
  ps -e -o pid=,ppid=,rss= | awk -v root="$1" '{p[$1]=$2; r[$1]=$3}
    END {for (x in p) {y=x; while (y!="" && y!=0 && y!=root) y=p[y]; if (y==root) s+=r[x]} printf "%d", s/1024}'
}
# to_ms: wrk's "349.00us" / "1.20ms" / "2.01s" → milliseconds.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f", v}' <<<"$1"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# measure KEY C URL PID [wrk args...]: one rep, appended to $work/res/KEY-C.
measure() {
  local key=$1 c=$2 url=$3 pid=$4; shift 4
  wrk -t1 -c"$c" -d1s "$@" "$url" >/dev/null 2>&1 || true # warm up instances
  local out; out=$(wrk -t1 -c"$c" -d"$DURATION" --latency "$@" "$url")
  local rps p50 p99 non2xx rss
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  rss=$(tree_rss_mb "$pid")
  echo "$rps $p50 $p99 ${non2xx:-0} $rss" >>"$work/res/$key-$c"
}
col() { awk -v n="$1" '{print $n}' "$2" | median; }

echo "## Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, wrk -t1, ${DURATION} per rep, median of ${REPS} interleaved reps"
echo

if has floors; then
  mkdir -p "$work/res"
  declare -A fpid furl
  start_floor() { # key port args...
    local key=$1 port=$2; shift 2
    "$work/benchfloor" --mode runtimeapi --bootstrap "$work/bootstrap" --listen "127.0.0.1:$port" "$@" 2>/dev/null &
    fpid[$key]=$!; furl[$key]="http://127.0.0.1:$port/fixed"
  }
  start_floor w1 4601 --workers 1
  start_floor w32 4602 --workers 32
  start_floor mc32 4603 --workers 1 --max-concurrency 32
  for p in 4601 4602 4603; do
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$p/fixed" >/dev/null && break; sleep 0.1; done
  done
  # The same function on Lambda Managed Instances (one process serving 32 at once),
  # on a second sluice of its own so that its RSS column counts only that sluice and
  # its function process.
  LMI_PORT=${LMI_PORT:-4604}
  "$work/sluice" serve --listen "127.0.0.1:$LMI_PORT" --data-dir "$work/data-lmi" --log-level warn $SLUICE_FLAGS &
  lmi_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$LMI_PORT/_sluice/health" >/dev/null && break; sleep 0.1; done
  awsl() { aws --endpoint-url "http://127.0.0.1:$LMI_PORT" --output text "$@"; }
  awsl lambda create-capacity-provider --capacity-provider-name bench --vpc-config SubnetIds=subnet-1,SecurityGroupIds=sg-1 \
    --permissions-config CapacityProviderOperatorRoleArn=arn:aws:iam::123456789012:role/bench >/dev/null
  lmi_arn=$(awsl lambda create-function --function-name bench-lmi --runtime provided.al2023 --handler bootstrap \
    --role arn:aws:iam::123456789012:role/bench --zip-file "fileb://$work/fn.zip" --query FunctionArn \
    --capacity-provider-config "LambdaManagedInstancesCapacityProviderConfig={CapacityProviderArn=arn:aws:lambda:us-east-1:123456789012:capacity-provider:bench,PerExecutionEnvironmentMaxConcurrency=32}")
  awsl lambda publish-version --function-name bench-lmi --publish-to LATEST_PUBLISHED >/dev/null
  awsl lambda add-permission --function-name bench-lmi --statement-id apigw --action lambda:InvokeFunction \
    --principal apigateway.amazonaws.com --source-arn "arn:aws:execute-api:us-east-1:123456789012:*" >/dev/null
  lmi_http_id=$(awsl apigatewayv2 create-api --name bench-lmi --protocol-type HTTP --target "$lmi_arn" --query ApiId)
  keys="w1 w32 mc32 sluice sluicelmi"
  for rep in $(seq "$REPS"); do
    for c in 1 32; do
      for k in $keys; do
        if [ "$k" = sluice ]; then
          measure sluice "$c" "$base/fixed" "$sluice_pid" -H "Host: $http_id.execute-api.localhost:$PORT"
        elif [ "$k" = sluicelmi ]; then
          measure sluicelmi "$c" "http://127.0.0.1:$LMI_PORT/fixed" "$lmi_pid" -H "Host: $lmi_http_id.execute-api.localhost:$LMI_PORT"
        else
          measure "$k" "$c" "${furl[$k]}" "${fpid[$k]}"
        fi
      done
    done
  done
  declare -A label=([w1]="floor: bare Runtime API server, 1 worker" [w32]="floor: bare Runtime API server, 32 workers"
    [mc32]="floor: bare Runtime API server, 1 worker, AWS_LAMBDA_MAX_CONCURRENCY=32" [sluice]="**sluice** HTTP API \$default → Go fn"
    [sluicelmi]="**sluice** HTTP API \$default → Go fn on Lambda Managed Instances (PerExecutionEnvironmentMaxConcurrency=32)")
  echo "| target | c=1 req/s | c=1 p50 ms | c=1 p99 ms | c=32 req/s | c=32 p50 ms | c=32 p99 ms | RSS at c=32 MB | non-2xx |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for k in $keys; do
    a="$work/res/$k-1" b="$work/res/$k-32"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${label[$k]}" "$(col 1 "$a")" "$(col 2 "$a")" "$(col 3 "$a")" \
      "$(col 1 "$b")" "$(col 2 "$b")" "$(col 3 "$b")" "$(col 5 "$b")" "$(cat "$a" "$b" | awk '{s+=$4} END {print s+0}')"
  done
  echo
  for s in sluice sluicelmi; do
    s1=$(col 1 "$work/res/$s-1") s32=$(col 1 "$work/res/$s-32")
    for k in w1 w32 mc32; do
      awk -v s="${label[$s]}" -v l="${label[$k]}" -v a="$s1" -v b="$(col 1 "$work/res/$k-1")" -v c="$s32" -v d="$(col 1 "$work/res/$k-32")" \
        'BEGIN {printf "- %s / %s: %.2fx at c=1, %.2fx at c=32\n", s, l, a/b, c/d}'
    done
  done
  echo
  for k in w1 w32 mc32; do kill "${fpid[$k]}" 2>/dev/null || true; done
  kill "$lmi_pid" 2>/dev/null || true
fi

if has routes; then
echo "| target | conns | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
for c in 1 32; do
  run_wrk "floor: Go httputil.ReverseProxy" "$c" "http://127.0.0.1:$FLOOR_PORT/fixed"
  run_wrk "REST API AWS_PROXY → Go fn (payload 1.0)" "$c" "$base/b/fixed" -H "Host: $rest_id.execute-api.localhost:$PORT"
  run_wrk "HTTP API \$default → Go fn (payload 2.0)" "$c" "$base/fixed" -H "Host: $http_id.execute-api.localhost:$PORT"
  run_wrk "Lambda Invoke API → Go fn" "$c" "$base/2015-03-31/functions/bench/invocations" -s "$work/invoke.lua"
done
echo
fi

if has cold; then

# Cold vs warm: a configuration change retires the warm instance, so the next
# invoke starts a new process (process start to first response).
invoke_curl="curl -sf -X POST -H 'X-Amz-Date: $amzdate' -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/${amzdate:0:8}/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(printf '0%.0s' $(seq 64))' -d '{}' $base/2015-03-31/functions/bench/invocations"
hyperfine -N --warmup 5 --runs 50 --export-markdown "$work/warm.md" "$invoke_curl" >/dev/null 2>&1 || true
hyperfine --runs 15 --prepare "aws --endpoint-url $base lambda update-function-configuration --function-name bench --description \$(date +%s%N) >/dev/null" \
  --export-markdown "$work/cold.md" "$invoke_curl" >/dev/null 2>&1 || true
echo "Warm invoke through curl (hyperfine):"; echo; cat "$work/warm.md" 2>/dev/null; echo
echo "Cold start (new instance) through curl (hyperfine):"; echo; cat "$work/cold.md" 2>/dev/null
fi

if has edge; then
  awsx lambda add-permission --function-name bench --statement-id url --action lambda:InvokeFunctionUrl \
    --principal '*' --function-url-auth-type NONE >/dev/null
  awsx lambda add-permission --function-name bench --statement-id url-invoke --action lambda:InvokeFunction \
    --principal '*' --invoked-via-function-url >/dev/null
  fn_url=$(awsx lambda create-function-url-config --function-name bench --auth-type NONE --query FunctionUrl)
  url_host=${fn_url#http://}; url_host=${url_host%%/*}
  echo "| target | conns | req/s | p50 | p99 | non-2xx |"
  echo "|---|---|---|---|---|---|"
  for rep in $(seq "$REPS"); do
    for c in 1 32; do
      run_wrk "function URL (NONE) → Go fn" "$c" "$base/fixed" -H "Host: $url_host"
      run_wrk "HTTP API \$default → Go fn, plain HTTP" "$c" "$base/fixed" -H "Host: $http_id.execute-api.localhost:$PORT"
      run_wrk "HTTP API \$default → Go fn, TLS 1.3 (keep-alive)" "$c" "https://127.0.0.1:$TLS_PORT/fixed" -H "Host: $http_id.execute-api.localhost:$TLS_PORT"
    done
  done
  echo
fi

if has s3; then
  mkdir -p "$work/files"
  "$work/benchfloor" --mode files --dir "$work/files" --listen "127.0.0.1:$FILES_PORT" &
  files_pid=$!
  head -c 4096 /dev/urandom >"$work/obj-4k"
  head -c $((16 << 20)) /dev/urandom >"$work/obj-16m"
  awsx s3api create-bucket --bucket bench >/dev/null
  for o in 4k 16m; do
    awsx s3api put-object --bucket bench --key "obj-$o" --body "$work/obj-$o" >/dev/null
    cp "$work/obj-$o" "$work/files/obj-$o"
  done
  # Presigned URLs (boto3, path style, SigV4), an hour long.
  presign() { # method key
    python3 - "$base" "$1" "$2" <<'PY'
import sys, boto3
from botocore.config import Config
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                 config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
op = {"GET": "get_object", "PUT": "put_object"}[sys.argv[2]]
print(c.generate_presigned_url(op, Params={"Bucket": "bench", "Key": sys.argv[3]}, ExpiresIn=3600))
PY
  }
  for o in 4k 16m; do
    printf 'wrk.method = "PUT"\nlocal f = io.open("%s", "rb")\nwrk.body = f:read("*a")\nf:close()\n' "$work/obj-$o" >"$work/put-$o.lua"
  done
  echo "| target | conns | req/s | p50 | p99 | non-2xx |"
  echo "|---|---|---|---|---|---|"
  for o in 4k 16m; do
    get_url=$(presign GET "obj-$o") put_url=$(presign PUT "put-$o")
    for c in 1 8; do
      run_wrk "floor: file server GET $o" "$c" "http://127.0.0.1:$FILES_PORT/obj-$o"
      run_wrk "**sluice** presigned GetObject $o" "$c" "$get_url"
      run_wrk "floor: file server PUT $o (fsync)" "$c" "http://127.0.0.1:$FILES_PORT/put-$o" -s "$work/put-$o.lua"
      run_wrk "**sluice** presigned PutObject $o" "$c" "$put_url" -s "$work/put-$o.lua"
    done
  done
  echo
  # RSS of the sluice process while a 1 GiB object streams in, then out.
  head -c $((1 << 30)) /dev/zero >"$work/obj-1g"
  put_url=$(presign PUT big) get_url=$(presign GET big)
  peak() { # pid command...: runs the command, prints the pid's peak RSS in MB while it ran
    local pid=$1; shift
    "$@" &
    local cmd=$! max=0 r
    while kill -0 "$cmd" 2>/dev/null; do
      r=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status"); [ "${r:-0}" -gt "$max" ] && max=$r
      sleep 0.1
    done
    wait "$cmd"
    echo $((max / 1024))
  }
  idle=$(( $(awk '/VmRSS/ {print $2}' "/proc/$sluice_pid/status") / 1024 ))
  t0=$(date +%s.%N); up=$(peak "$sluice_pid" curl -sf -o /dev/null -T "$work/obj-1g" "$put_url"); t1=$(date +%s.%N)
  down=$(peak "$sluice_pid" curl -sf -o /dev/null "$get_url"); t2=$(date +%s.%N)
  awk -v i="$idle" -v u="$up" -v d="$down" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    printf "1 GiB object: RSS idle %d MB; peak %d MB during PutObject (%.0f MB/s), %d MB during GetObject (%.0f MB/s)\n", i, u, 1024/(b-a), d, 1024/(c-b) }'
  rm -f "$work/obj-1g"
  kill "$files_pid" 2>/dev/null || true
  echo
fi

if has offline; then
  # Node.js and Python handlers answering {"ok":true} behind Sluice's HTTP API
  # $default route and behind serverless-offline 13 (serverless 3; Node handlers run
  # in worker threads in its process, Python ones in child processes), same run,
  # interleaved reps. serverless-offline comes from npm into OFFLINE_DIR.
  OFFLINE_DIR=${OFFLINE_DIR:-$HOME/.cache/sluice-bench/offline}
  if [ ! -x "$OFFLINE_DIR/node_modules/.bin/serverless" ]; then
    mkdir -p "$OFFLINE_DIR"
    (cd "$OFFLINE_DIR" && npm init -y >/dev/null && npm install --no-audit --no-fund serverless@3.40.0 serverless-offline@13.9.0 >/dev/null)
  fi
  mkdir -p "$work/offline" "$work/res"
  cat >"$work/offline/index.js" <<'JS'
exports.handler = async () => ({ statusCode: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' });
JS
  cat >"$work/offline/app.py" <<'PY'
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"ok":true}'}
PY
  cat >"$work/offline/serverless.yml" <<'YML'
service: bench
frameworkVersion: "3"
provider: { name: aws, region: us-east-1, stage: dev }
plugins: [serverless-offline]
functions:
  node: { handler: index.handler, runtime: nodejs20.x, events: [{ httpApi: { method: GET, path: /node } }] }
  py: { handler: app.handler, runtime: python3.11, events: [{ httpApi: { method: GET, path: /py } }] }
YML
  (cd "$work/offline" && zip -q node.zip index.js && zip -q py.zip app.py)
  declare -A oid
  for k in node py; do
    if [ $k = node ]; then rt=nodejs22.x h=index.handler; else rt=python3.13 h=app.handler; fi
    arn=$(awsx lambda create-function --function-name "off-$k" --runtime $rt --handler $h \
      --role arn:aws:iam::123456789012:role/bench --zip-file "fileb://$work/offline/$k.zip" --query FunctionArn)
    awsx lambda add-permission --function-name "off-$k" --statement-id apigw --action lambda:InvokeFunction \
      --principal apigateway.amazonaws.com --source-arn "arn:aws:execute-api:us-east-1:123456789012:*" >/dev/null
    oid[$k]=$(awsx apigatewayv2 create-api --name "off-$k" --protocol-type HTTP --target "$arn" --query ApiId)
  done
  (cd "$work/offline" && exec "$OFFLINE_DIR/node_modules/.bin/serverless" offline --httpPort 4604 --lambdaPort 4605 --noPrependStageInUrl >"$work/offline.log" 2>&1) &
  off_pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:4604/node && break; sleep 0.2; done
  sleep 0.5
  for rep in $(seq "$REPS"); do
    for c in 1 32; do
      for k in node py; do
        measure "sluice-$k" "$c" "$base/$k" "$sluice_pid" -H "Host: ${oid[$k]}.execute-api.localhost:$PORT"
        measure "offline-$k" "$c" "http://127.0.0.1:4604/$k" "$off_pid"
      done
    done
  done
  echo "| target | c=1 req/s | c=1 p50 ms | c=32 req/s | c=32 p50 ms | c=32 p99 ms | RSS at c=32 MB | non-2xx |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for k in sluice-node offline-node sluice-py offline-py; do
    a="$work/res/$k-1" b="$work/res/$k-32"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$k" "$(col 1 "$a")" "$(col 2 "$a")" \
      "$(col 1 "$b")" "$(col 2 "$b")" "$(col 3 "$b")" "$(col 5 "$b")" "$(cat "$a" "$b" | awk '{s+=$4} END {print s+0}')"
  done
  echo
  for k in node py; do
    awk -v k=$k -v a="$(col 1 "$work/res/sluice-$k-32")" -v b="$(col 1 "$work/res/offline-$k-32")" \
      'BEGIN {printf "- %s: Sluice / serverless-offline at c=32: %.2fx\n", k, a/b}'
  done
  echo
  kill -- "-$off_pid" 2>/dev/null || kill "$off_pid" 2>/dev/null || true
  pkill -f "serverless offline --httpPort 4604" 2>/dev/null || true
fi

if has curves; then
  # The scale benchmarks (cost vs number of routes / APIs), drawn by scripts/benchplot.
  CURVES_SVG=${CURVES_SVG:-docs/scale-curves.svg}
  go test -run XXX -bench 'Scale$|CreateRoute$' -benchtime "${CURVES_BENCHTIME:-1s}" \
    ./internal/apigw/compile ./internal/apigw/httpapi | tee "$work/curves.txt" | grep -E '^Benchmark.*=' || true
  go run ./scripts/benchplot -o "$CURVES_SVG" <"$work/curves.txt"
  echo
fi

if has control; then
  # Each target gets fresh state; the functions' role must exist where IAM is checked.
  role='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  awsx iam create-role --role-name cpbench --assume-role-policy-document "$role" >/dev/null 2>&1 || true
  "$work/cpbench" --endpoint "$base" --label "**sluice**" --duration "$CP_DURATION" --header
  if command -v moto_server >/dev/null; then
    moto_server -p "$MOTO_PORT" >"$work/moto.log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" && break; sleep 0.2; done
    aws --endpoint-url "http://127.0.0.1:$MOTO_PORT" iam create-role --role-name cpbench --assume-role-policy-document "$role" >/dev/null
    "$work/cpbench" --endpoint "http://127.0.0.1:$MOTO_PORT" --label "moto_server $(python3 -c 'import moto; print(moto.__version__)')" --duration "$CP_DURATION"
    kill "$moto_pid" 2>/dev/null || true
  else
    echo "(moto_server not installed: pip install 'moto[server]')"
  fi
  echo
fi

if has scale; then
  echo "| target | functions | create p50 ms (first / last 100) | first invoke p50 ms (first / last 100) | warm invoke p50 ms (before / after) | RSS growth MB | KB per function |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  "$work/cpbench" --endpoint "$base" --label "**sluice**" --scale-functions "${SCALE_FUNCTIONS:-1000}" --code-zip "$work/fn.zip" --pid "$sluice_pid"
  echo
fi

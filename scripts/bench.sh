#!/usr/bin/env bash
# Benchmarks a running Sluice end to end, side by side with the floor (a plain Go
# httputil.ReverseProxy returning the same body), and prints a Markdown report.
#
#   bash scripts/bench.sh            # DURATION=10s by default
#
# Measures, with wrk at concurrency 1 and 32:
#   - the Lambda Invoke API (warm Go bootstrap function),
#   - a REST API AWS_PROXY route (payload 1.0) to the same function,
#   - an HTTP API route (payload 2.0) to the same function,
#   - the floor,
# and with hyperfine: a warm invoke vs a cold start (new instance) through curl.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
PORT=${PORT:-4577}
FLOOR_PORT=${FLOOR_PORT:-4599}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export GOFLAGS=-buildvcs=false AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=

go build -o "$work/sluice" ./cmd/sluice
go build -o "$work/benchfloor" ./scripts/benchfloor
(cd test/e2e/testdata/gofn && CGO_ENABLED=0 go build -o "$work/bootstrap" .)
(cd "$work" && zip -q fn.zip bootstrap)

"$work/sluice" serve --listen "127.0.0.1:$PORT" --data-dir "$work/data" --log-level warn &
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

echo "## Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, wrk ${DURATION} per row"
echo
echo "| target | conns | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
for c in 1 32; do
  run_wrk "floor: Go httputil.ReverseProxy" "$c" "http://127.0.0.1:$FLOOR_PORT/fixed"
  run_wrk "REST API AWS_PROXY → Go fn (payload 1.0)" "$c" "$base/b/fixed" -H "Host: $rest_id.execute-api.localhost:$PORT"
  run_wrk "HTTP API \$default → Go fn (payload 2.0)" "$c" "$base/fixed" -H "Host: $http_id.execute-api.localhost:$PORT"
  run_wrk "Lambda Invoke API → Go fn" "$c" "$base/2015-03-31/functions/bench/invocations" -s "$work/invoke.lua"
done
echo

# Cold vs warm: a configuration change retires the warm instance, so the next
# invoke starts a new process (process start to first response).
invoke_curl="curl -sf -X POST -H 'X-Amz-Date: $amzdate' -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/${amzdate:0:8}/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(printf '0%.0s' $(seq 64))' -d '{}' $base/2015-03-31/functions/bench/invocations"
hyperfine -N --warmup 5 --runs 50 --export-markdown "$work/warm.md" "$invoke_curl" >/dev/null 2>&1 || true
hyperfine --runs 15 --prepare "aws --endpoint-url $base lambda update-function-configuration --function-name bench --description \$(date +%s%N) >/dev/null" \
  --export-markdown "$work/cold.md" "$invoke_curl" >/dev/null 2>&1 || true
echo "Warm invoke through curl (hyperfine):"; echo; cat "$work/warm.md" 2>/dev/null; echo
echo "Cold start (new instance) through curl (hyperfine):"; echo; cat "$work/cold.md" 2>/dev/null

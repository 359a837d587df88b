#!/usr/bin/env bash
# Seed scenario 1 (docs: README.md here): a REST API whose greedy resource
# /email/{proxy+} (ANY) sends every sub-path to one Node.js function, deployed to
# stage v1. Run `make run` in the repository first, then: bash deploy.sh
# (ENDPOINT=http://127.0.0.1:8080 for a server on another address). Running it again
# updates the function's code and redeploys the same API instead of failing, and it
# leaves no files behind.
set -euo pipefail
cd "$(dirname "$0")"
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_PAGER=""
awsl() { aws --endpoint-url "$ENDPOINT" --output text "$@"; }
ACCOUNT=123456789012

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
zip -q "$WORK/function.zip" index.js

# The function: created once, its code updated on later runs.
if FN_ARN=$(awsl lambda get-function-configuration --function-name email --query FunctionArn 2>/dev/null); then
  awsl lambda update-function-code --function-name email --zip-file "fileb://$WORK/function.zip" >/dev/null
  awsl lambda wait function-updated --function-name email
  echo "updated function email"
else
  FN_ARN=$(awsl lambda create-function --function-name email --runtime nodejs22.x --handler index.handler \
    --role "arn:aws:iam::$ACCOUNT:role/email" --zip-file "fileb://$WORK/function.zip" --query FunctionArn)
  echo "created function email"
fi

# The API: found by name, else created with its /email/{proxy+} resource.
API=$(awsl apigateway get-rest-apis --query "items[?name=='email-service'].id | [0]")
if [ -z "$API" ] || [ "$API" = None ]; then
  API=$(awsl apigateway create-rest-api --name email-service --query id)
  echo "created REST API email-service ($API)"
fi
PROXY=$(awsl apigateway get-resources --rest-api-id "$API" --query "items[?path=='/email/{proxy+}'].id | [0]")
if [ -z "$PROXY" ] || [ "$PROXY" = None ]; then
  ROOT=$(awsl apigateway get-resources --rest-api-id "$API" --query "items[?path=='/'].id | [0]")
  EMAIL=$(awsl apigateway get-resources --rest-api-id "$API" --query "items[?path=='/email'].id | [0]")
  if [ -z "$EMAIL" ] || [ "$EMAIL" = None ]; then
    EMAIL=$(awsl apigateway create-resource --rest-api-id "$API" --parent-id "$ROOT" --path-part email --query id)
  fi
  PROXY=$(awsl apigateway create-resource --rest-api-id "$API" --parent-id "$EMAIL" --path-part '{proxy+}' --query id)
fi
if ! awsl apigateway get-method --rest-api-id "$API" --resource-id "$PROXY" --http-method ANY >/dev/null 2>&1; then
  awsl apigateway put-method --rest-api-id "$API" --resource-id "$PROXY" --http-method ANY --authorization-type NONE >/dev/null
fi
# put-integration replaces the method's integration: the same call on every run.
awsl apigateway put-integration --rest-api-id "$API" --resource-id "$PROXY" --http-method ANY --type AWS_PROXY \
  --integration-http-method POST \
  --uri "arn:aws:apigateway:$AWS_DEFAULT_REGION:lambda:path/2015-03-31/functions/$FN_ARN/invocations" >/dev/null
# A statement id is unique in the function's policy: replace it.
awsl lambda remove-permission --function-name email --statement-id apigw >/dev/null 2>&1 || true
awsl lambda add-permission --function-name email --statement-id apigw --action lambda:InvokeFunction \
  --principal apigateway.amazonaws.com --source-arn "arn:aws:execute-api:$AWS_DEFAULT_REGION:$ACCOUNT:$API/*/*/email/*" >/dev/null
awsl apigateway create-deployment --rest-api-id "$API" --stage-name v1 >/dev/null

# The path form needs no DNS, so every client reaches it; the Host form is
# http://$API.execute-api.localhost:PORT/v1/... (see the README).
BASE="$ENDPOINT/restapis/$API/v1/_user_request_"
sleep 0.2
echo "stage v1: $BASE/"
echo "POST /v1/email/send → $(curl -s -X POST "$BASE/email/send" -d '{"to":"a@example.com"}')"
echo "GET  /v1/email/ping → $(curl -s "$BASE/email/ping")"
echo "GET  /v1/nothing    → $(curl -s "$BASE/nothing")"

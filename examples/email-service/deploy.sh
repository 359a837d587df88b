#!/usr/bin/env bash
# Seed scenario 1 (docs: ../../README.md): a REST API whose greedy resource
# /email/{proxy+} (ANY) sends every sub-path to one Node.js function, deployed to
# stage v1. Run `make run` in the repository first, then: bash deploy.sh
set -euo pipefail
cd "$(dirname "$0")"
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
awsl() { aws --endpoint-url "$ENDPOINT" --output text "$@"; }

rm -f function.zip && zip -q function.zip index.js
FN_ARN=$(awsl lambda create-function --function-name email --runtime nodejs22.x --handler index.handler \
  --role arn:aws:iam::123456789012:role/email --zip-file fileb://function.zip --query FunctionArn)
API=$(awsl apigateway create-rest-api --name email-service --query id)
ROOT=$(awsl apigateway get-resources --rest-api-id "$API" --query 'items[0].id')
EMAIL=$(awsl apigateway create-resource --rest-api-id "$API" --parent-id "$ROOT" --path-part email --query id)
PROXY=$(awsl apigateway create-resource --rest-api-id "$API" --parent-id "$EMAIL" --path-part '{proxy+}' --query id)
awsl apigateway put-method --rest-api-id "$API" --resource-id "$PROXY" --http-method ANY --authorization-type NONE >/dev/null
awsl apigateway put-integration --rest-api-id "$API" --resource-id "$PROXY" --http-method ANY --type AWS_PROXY \
  --integration-http-method POST \
  --uri "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/$FN_ARN/invocations" >/dev/null
awsl lambda add-permission --function-name email --statement-id apigw --action lambda:InvokeFunction \
  --principal apigateway.amazonaws.com --source-arn "arn:aws:execute-api:us-east-1:123456789012:$API/*/*/email/*" >/dev/null
awsl apigateway create-deployment --rest-api-id "$API" --stage-name v1 >/dev/null

PORT=${ENDPOINT##*:}
sleep 0.2
echo "POST /v1/email/send → $(curl -s -X POST "http://$API.execute-api.localhost:$PORT/v1/email/send" -d '{"to":"a@example.com"}')"
echo "GET  /v1/email/ping → $(curl -s "http://$API.execute-api.localhost:$PORT/v1/email/ping")"
echo "GET  /v1/nothing    → $(curl -s "http://$API.execute-api.localhost:$PORT/v1/nothing")"

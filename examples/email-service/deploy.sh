#!/usr/bin/env bash
# Seed scenario 1 (README.md here): template.yaml deployed with `sluice deploy`, then
# the API driven with curl. Run `make run` in the repository first, then:
#   bash deploy.sh
# (ENDPOINT=http://127.0.0.1:8080 for a server on another address, SLUICE=path/to/sluice
# when it is not on PATH, DEPLOY_WITH=aws to deploy with `aws cloudformation package` +
# `deploy` instead, STACK for another stack). Running it again changes nothing; after a
# change to email/index.js it updates the function's code under the same API.
set -euo pipefail
SLUICE=${SLUICE:-sluice}
# A relative SLUICE (bin/sluice after `make build`) is relative to where we were started.
case $SLUICE in */*) SLUICE="$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")" ;; esac
cd "$(dirname "$0")"
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
STACK=${STACK:-email-service}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_PAGER=""
awsl() { aws --endpoint-url "$ENDPOINT" --output text "$@"; }

if [ "${DEPLOY_WITH:-sluice}" = aws ]; then
  # The AWS CLI's way: package zips email/, uploads it and rewrites CodeUri to its S3
  # URI (package's S3 client needs AWS_ENDPOINT_URL_S3); deploy runs a change set.
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  awsl s3api head-bucket --bucket "$STACK-artifacts" >/dev/null 2>&1 || awsl s3 mb "s3://$STACK-artifacts" >/dev/null
  AWS_ENDPOINT_URL_S3=$ENDPOINT aws --endpoint-url "$ENDPOINT" cloudformation package --template-file template.yaml \
    --s3-bucket "$STACK-artifacts" --output-template-file "$WORK/packaged.yaml" >/dev/null
  aws --endpoint-url "$ENDPOINT" cloudformation deploy --template-file "$WORK/packaged.yaml" --stack-name "$STACK" \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset
else
  "$SLUICE" deploy --endpoint-url "$ENDPOINT" --stack-name "$STACK"
fi

API=$(awsl cloudformation describe-stacks --stack-name "$STACK" --query "Stacks[0].Outputs[?OutputKey=='ApiId'].OutputValue")
# The path form needs no DNS, so every client reaches it; the Host form is
# http://$API.execute-api.localhost:PORT/v1/... (see the README).
BASE="$ENDPOINT/restapis/$API/v1/_user_request_"
echo "stage v1: $BASE/"
echo "POST /v1/email/send → $(curl -s -X POST "$BASE/email/send" -d '{"to":"a@example.com"}')"
echo "GET  /v1/email/ping → $(curl -s "$BASE/email/ping")"
echo "GET  /v1/nothing    → $(curl -s "$BASE/nothing")"

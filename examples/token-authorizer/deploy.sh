#!/usr/bin/env bash
# Seed scenario 2 (docs: README.md here): template.yaml deployed with `sluice deploy`,
# then the API driven with curl. Run `make run` in the repository first, then:
# bash deploy.sh (ENDPOINT=http://127.0.0.1:8080 for a server on another address,
# SLUICE=path/to/sluice when it is not on PATH, DEPLOY_WITH=aws to deploy with
# `aws cloudformation package` + `deploy` instead, STACK for another stack). Running it
# again changes nothing.
set -euo pipefail
SLUICE=${SLUICE:-sluice}
# A relative SLUICE (bin/sluice after `make build`) is relative to where we were started.
case $SLUICE in */*) SLUICE="$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")" ;; esac
cd "$(dirname "$0")"
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
STACK=${STACK:-token-authorizer}
export AWS_PAGER=""
awsl() { aws --endpoint-url "$ENDPOINT" --output text "$@"; }

if [ "${DEPLOY_WITH:-sluice}" = aws ]; then
  # The AWS CLI's way: package zips blocks/ and authorizer/, uploads them and rewrites
  # CodeUri to their S3 URIs (package's S3 client needs AWS_ENDPOINT_URL_S3); deploy
  # runs a change set.
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
URL="$ENDPOINT/restapis/$API/prod/_user_request_/blocks"
echo "GET $URL"

# show TOKEN: one GET /blocks with header "token: TOKEN" (none when empty).
show() {
  local args=(-s -w $'\n%{http_code}')
  [ -n "$1" ] && args+=(-H "token: $1")
  local out
  out=$(curl "${args[@]}" "$URL")
  printf 'token %-10s → %s %s\n' "${1:-(none)}" "${out##*$'\n'}" "${out%$'\n'*}"
}
show allow-1
show deny-1
show nonsense
show ""

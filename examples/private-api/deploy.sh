#!/usr/bin/env bash
# Seed scenario 3 (README.md here): template.yaml deployed with `sluice deploy`, then
# called with curl through the private endpoint: with and without the API key,
# unsigned and SigV4-signed, and from outside the endpoint. Start Sluice with the
# endpoint first, in the repository root:
#   make run ARGS="--private-listen 127.0.0.1:4567=vpce-0123456789abcdef0"
# then: bash deploy.sh (ENDPOINT for the control plane, PRIVATE for the endpoint's
# address, SLUICE=path/to/sluice when it is not on PATH, DEPLOY_WITH=aws to deploy
# with `aws cloudformation package` + `deploy` instead, STACK for another stack).
# Running it again changes nothing in the stack.
set -euo pipefail
SLUICE=${SLUICE:-sluice}
# A relative SLUICE (bin/sluice after `make build`) is relative to where we were started.
case $SLUICE in */*) SLUICE="$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")" ;; esac
cd "$(dirname "$0")"
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
PRIVATE=${PRIVATE:-127.0.0.1:4567}
VPCE=${VPCE:-vpce-0123456789abcdef0}
STACK=${STACK:-private-api}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_PAGER=""
awsl() { aws --endpoint-url "$ENDPOINT" --output text "$@"; }

if [ "${DEPLOY_WITH:-sluice}" = aws ]; then
  # The AWS CLI's way: package zips items/, uploads it and rewrites CodeUri to its S3
  # URI (package's S3 client needs AWS_ENDPOINT_URL_S3); deploy runs a change set.
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  awsl s3api head-bucket --bucket "$STACK-artifacts" >/dev/null 2>&1 || awsl s3 mb "s3://$STACK-artifacts" >/dev/null
  AWS_ENDPOINT_URL_S3=$ENDPOINT aws --endpoint-url "$ENDPOINT" cloudformation package --template-file template.yaml \
    --s3-bucket "$STACK-artifacts" --output-template-file "$WORK/packaged.yaml" >/dev/null
  aws --endpoint-url "$ENDPOINT" cloudformation deploy --template-file "$WORK/packaged.yaml" --stack-name "$STACK" \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --parameter-overrides "VpceId=$VPCE" --no-fail-on-empty-changeset
else
  "$SLUICE" deploy --endpoint-url "$ENDPOINT" --stack-name "$STACK" --parameter-overrides "VpceId=$VPCE"
fi

output() {
  awsl cloudformation describe-stacks --stack-name "$STACK" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue"
}
API=$(output ApiId)
HOST=$(output PrivateHost)
KEY=$(awsl apigateway get-api-key --api-key "$(output ApiKeyId)" --include-value --query value)

# A caller for the AWS_IAM method: an IAM user whose policy allows invoking it, with a
# fresh access key each run (its old ones are deleted).
USER=$STACK-caller
awsl iam get-user --user-name "$USER" >/dev/null 2>&1 || awsl iam create-user --user-name "$USER" >/dev/null
awsl iam put-user-policy --user-name "$USER" --policy-name invoke-admin --policy-document \
  "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"execute-api:Invoke\",\"Resource\":\"arn:aws:execute-api:$AWS_DEFAULT_REGION:*:$API/prod/GET/admin\"}]}"
for old in $(awsl iam list-access-keys --user-name "$USER" --query 'AccessKeyMetadata[].AccessKeyId'); do
  awsl iam delete-access-key --user-name "$USER" --access-key-id "$old"
done
read -r CALLER_ID CALLER_SECRET < <(awsl iam create-access-key --user-name "$USER" --query 'AccessKey.[AccessKeyId,SecretAccessKey]')

# show LABEL ADDR PATH [curl args...]: one GET through ADDR with the API's private Host.
show() {
  local label=$1 addr=$2 path=$3
  shift 3
  local out
  out=$(curl -s -w $'\n%{http_code}' -H "Host: $HOST" "$@" "http://$addr/prod$path")
  printf '%-28s → %s %s\n' "$label" "${out##*$'\n'}" "${out%$'\n'*}"
}
echo "API $API at $HOST through $VPCE ($PRIVATE)"
for _ in $(seq 1 50); do # the stage is served within a moment of the deploy
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $HOST" -H "x-api-key: $KEY" "http://$PRIVATE/prod/items")" = 200 ] && break
  sleep 0.2
done
show "items with the key" "$PRIVATE" /items -H "x-api-key: $KEY"
show "items without a key" "$PRIVATE" /items
show "items from the public port" "${ENDPOINT#http://}" /items -H "x-api-key: $KEY"
show "admin unsigned" "$PRIVATE" /admin
for _ in $(seq 1 25); do # a new access key takes a moment to be known everywhere
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $HOST" --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:execute-api" \
    --user "$CALLER_ID:$CALLER_SECRET" "http://$PRIVATE/prod/admin")" = 200 ] && break
  sleep 0.2
done
show "admin signed (SigV4)" "$PRIVATE" /admin --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:execute-api" --user "$CALLER_ID:$CALLER_SECRET"

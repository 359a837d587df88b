#!/usr/bin/env bash
# Seed scenario 2 (docs: README.md here): template.yaml deployed with `sluice deploy`,
# then the API driven with curl. Run `make run` in the repository first, then:
# bash deploy.sh (ENDPOINT=http://127.0.0.1:8080 for a server on another address,
# SLUICE=path/to/sluice when it is not on PATH). Running it again changes nothing.
set -euo pipefail
cd "$(dirname "$0")"
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
SLUICE=${SLUICE:-sluice}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_PAGER=""

"$SLUICE" deploy --endpoint-url "$ENDPOINT" --stack-name token-authorizer

API=$(aws --endpoint-url "$ENDPOINT" --output text cloudformation describe-stacks --stack-name token-authorizer \
  --query "Stacks[0].Outputs[?OutputKey=='ApiId'].OutputValue")
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

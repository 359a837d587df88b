#!/usr/bin/env bash
# Seed scenario 4 (README.md here): template.yaml deployed with `sluice deploy`, then
# both APIs called through one listener on the operator's address, picked by Host.
# Start Sluice with that listener first, in the repository root:
#   make run ARGS="--data-listen 127.0.0.1:8080"
# then: ORDERS=http://orders.internal:9001 USERS=http://users.internal:9002 bash deploy.sh
# (FRONT=the listener's address, ENDPOINT for the control plane, SLUICE=path/to/sluice
# when it is not on PATH). Running it again changes nothing.
set -euo pipefail
cd "$(dirname "$0")"
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
FRONT=${FRONT:-127.0.0.1:8080}
ORDERS=${ORDERS:-http://127.0.0.1:9001}
USERS=${USERS:-http://127.0.0.1:9002}
SLUICE=${SLUICE:-sluice}
STACK=${STACK:-static-front}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_PAGER=""

"$SLUICE" deploy --endpoint-url "$ENDPOINT" --stack-name "$STACK" \
  --parameter-overrides "OrdersUpstream=$ORDERS" "UsersUpstream=$USERS"

output() {
  aws --endpoint-url "$ENDPOINT" --output text cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue"
}
ORDERS_API=$(output OrdersApiId)
USERS_API=$(output UsersApiId)

# show API PATH: one GET through the shared listener, the API picked by its Host.
show() {
  local host=$1.execute-api.localhost out
  out=$(curl -s -w $'\n%{http_code}' -H "Host: $host" "http://$FRONT$2")
  printf '%-44s %-14s → %s %s\n' "$host" "$2" "${out##*$'\n'}" "${out%$'\n'*}"
}
for _ in $(seq 1 50); do # auto-deployed stages are served within a moment
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $USERS_API.execute-api.localhost" "http://$FRONT/health")" != 404 ] && break
  sleep 0.2
done
echo "both APIs on http://$FRONT"
show "$ORDERS_API" /orders/42
show "$USERS_API" /users/alice
show "$USERS_API" /health

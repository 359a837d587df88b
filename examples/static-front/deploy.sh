#!/usr/bin/env bash
# Seed scenario 4 (README.md here): template.yaml deployed with `sluice deploy`, then
# both APIs called through one listener on the operator's address, picked by Host,
# and through their custom domain names on the TLS listener.
# Start Sluice with those listeners first, in the repository root:
#   make run ARGS="--data-listen 127.0.0.1:8080 --tls-listen 127.0.0.1:8443"
# then: ORDERS=http://orders.internal:9001 USERS=http://users.internal:9002 bash deploy.sh
# (FRONT and TLS_FRONT=the listeners' addresses, ORDERS_DOMAIN and USERS_DOMAIN the
# domain names, CERT_ARN an ACM certificate covering both (without it a demo one is
# made and imported once), ENDPOINT for the control plane, SLUICE=path/to/sluice when
# it is not on PATH, DEPLOY_WITH=aws to deploy with `aws cloudformation deploy`
# instead, STACK for another stack). Running it again changes nothing.
set -euo pipefail
SLUICE=${SLUICE:-sluice}
# A relative SLUICE (bin/sluice after `make build`) is relative to where we were started.
case $SLUICE in */*) SLUICE="$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")" ;; esac
cd "$(dirname "$0")"
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
FRONT=${FRONT:-127.0.0.1:8080}
TLS_FRONT=${TLS_FRONT:-127.0.0.1:8443}
ORDERS_DOMAIN=${ORDERS_DOMAIN:-orders.front.test}
USERS_DOMAIN=${USERS_DOMAIN:-users.front.test}
CERT_ARN=${CERT_ARN:-}
ORDERS=${ORDERS:-http://127.0.0.1:9001}
USERS=${USERS:-http://127.0.0.1:9002}
STACK=${STACK:-static-front}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_PAGER=""
tmp=$(mktemp -d) # outside this folder: the demo certificate's files, the chain curl trusts
trap 'rm -rf "$tmp"' EXIT
acm() { aws --endpoint-url "$ENDPOINT" acm "$@"; }

# The certificate: CERT_ARN when given; else the one an earlier run imported for
# ORDERS_DOMAIN; else a demo certificate for both names, signed by a throwaway CA,
# imported into Sluice's ACM (so a second run passes the same ARN and changes nothing).
if [ -z "$CERT_ARN" ]; then
  CERT_ARN=$(acm list-certificates --output text \
    --query "CertificateSummaryList[?DomainName=='$ORDERS_DOMAIN'].CertificateArn | [0]")
  if [ -z "$CERT_ARN" ] || [ "$CERT_ARN" = None ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=static-front demo CA" \
      -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$ORDERS_DOMAIN" -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s,DNS:%s\n' "$ORDERS_DOMAIN" "$USERS_DOMAIN" >"$tmp/san.ext"
    openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial -days 30 \
      -extfile "$tmp/san.ext" -out "$tmp/tls.crt" 2>/dev/null
    CERT_ARN=$(acm import-certificate --certificate "fileb://$tmp/tls.crt" --private-key "fileb://$tmp/tls.key" \
      --certificate-chain "fileb://$tmp/ca.crt" --query CertificateArn --output text)
    echo "imported a demo certificate for $ORDERS_DOMAIN and $USERS_DOMAIN: $CERT_ARN"
  fi
fi

params=("OrdersUpstream=$ORDERS" "UsersUpstream=$USERS"
  "OrdersDomainName=$ORDERS_DOMAIN" "UsersDomainName=$USERS_DOMAIN" "CertificateArn=$CERT_ARN")
if [ "${DEPLOY_WITH:-sluice}" = aws ]; then
  # The AWS CLI's way: there is no code to package (both APIs proxy to upstreams),
  # so deploy runs the template's change set directly.
  aws --endpoint-url "$ENDPOINT" cloudformation deploy --template-file template.yaml --stack-name "$STACK" \
    --capabilities CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset --parameter-overrides "${params[@]}"
else
  "$SLUICE" deploy --endpoint-url "$ENDPOINT" --stack-name "$STACK" --parameter-overrides "${params[@]}"
fi

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

# show_domain NAME PATH: one GET to https://NAME through the TLS listener (curl
# --resolve: SNI and Host are NAME), trusting the certificate's chain as ACM holds it.
acm get-certificate --certificate-arn "$CERT_ARN" --query CertificateChain --output text >"$tmp/chain.pem"
trust=(--cacert "$tmp/chain.pem")
[ -s "$tmp/chain.pem" ] && [ "$(cat "$tmp/chain.pem")" != None ] || trust=() # no chain: the system's CAs
show_domain() {
  local out
  out=$(curl -s "${trust[@]}" -w $'\n%{http_code}' --resolve "$1:${TLS_FRONT##*:}:${TLS_FRONT%:*}" \
    "https://$1:${TLS_FRONT##*:}$2" || true)
  printf '%-44s %-14s → %s %s\n' "https://$1" "$2" "${out##*$'\n'}" "${out%$'\n'*}"
}
for _ in $(seq 1 50); do # a new domain is served within a moment (until then: no TLS, or 403)
  code=$(curl -s "${trust[@]}" -o /dev/null -w '%{http_code}' --resolve "$USERS_DOMAIN:${TLS_FRONT##*:}:${TLS_FRONT%:*}" \
    "https://$USERS_DOMAIN:${TLS_FRONT##*:}/health" || true)
  case $code in 000 | 403 | 404) sleep 0.2 ;; *) break ;; esac
done
echo "custom domains on https://$TLS_FRONT"
show_domain "$ORDERS_DOMAIN" /orders/42
show_domain "$USERS_DOMAIN" /users/alice

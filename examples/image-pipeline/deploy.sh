#!/usr/bin/env bash
# Seed scenario 5 (README.md here): template.yaml deployed with `sluice deploy`, then
# driven as its browser would: GET /image/presigned-uri, PUT the photo to the URL it
# returns, and wait for Resize's thumbnails. Run `make run` in the repository first, then:
#   bash deploy.sh [photo.jpg]
# (ENDPOINT=http://127.0.0.1:8080 for a server on another address, SLUICE=path/to/sluice
# when it is not on PATH, DEPLOY_WITH=aws to deploy with `aws cloudformation package` +
# `deploy` instead, STACK and BUCKET_NAME for another stack and bucket). Without a photo
# it deploys and stops. Running it again changes nothing.
set -euo pipefail
SLUICE=${SLUICE:-sluice}
# A relative SLUICE (bin/sluice after `make build`) is relative to where we were started.
case $SLUICE in */*) SLUICE="$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")" ;; esac
cd "$(dirname "$0")"
PHOTO=${1:-}
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
STACK=${STACK:-image-pipeline}
BUCKET_NAME=${BUCKET_NAME:-photos}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_PAGER=""
awsl() { aws --endpoint-url "$ENDPOINT" --output text "$@"; }

# The template's CodeUri folders: build/resize (a provided.al2023 bootstrap) and
# build/presign (the handler with its locked npm dependencies). Both builds are
# reproducible, so a second deploy finds nothing changed.
rm -rf build
trap 'rm -rf build' EXIT
mkdir -p build/resize build/presign
(cd resize && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags=-buildid= -o ../build/resize/bootstrap .)
cp presign/index.mjs presign/package.json presign/package-lock.json build/presign/
(cd build/presign && npm ci --omit=dev --no-audit --no-fund --loglevel=error)

if [ "${DEPLOY_WITH:-sluice}" = aws ]; then
  # The AWS CLI's way: package uploads the CodeUri folders and rewrites them to S3
  # URIs (its S3 client needs AWS_ENDPOINT_URL_S3), deploy runs a change set.
  awsl s3api head-bucket --bucket "$STACK-artifacts" >/dev/null 2>&1 || awsl s3 mb "s3://$STACK-artifacts" >/dev/null
  AWS_ENDPOINT_URL_S3=$ENDPOINT aws --endpoint-url "$ENDPOINT" cloudformation package --template-file template.yaml \
    --s3-bucket "$STACK-artifacts" --output-template-file build/packaged.yaml >/dev/null
  aws --endpoint-url "$ENDPOINT" cloudformation deploy --template-file build/packaged.yaml --stack-name "$STACK" \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --parameter-overrides "BucketName=$BUCKET_NAME" --no-fail-on-empty-changeset
else
  "$SLUICE" deploy --endpoint-url "$ENDPOINT" --stack-name "$STACK" --parameter-overrides "BucketName=$BUCKET_NAME"
fi

output() {
  awsl cloudformation describe-stacks --stack-name "$STACK" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue"
}
API=$(output ApiId)
BUCKET=$(output UploadBucket)
THUMBS=$(output ThumbnailBucket)
[ -n "$PHOTO" ] || exit 0

URL="$ENDPOINT/restapis/$API/\$default/_user_request_/image/presigned-uri?name=$(basename "$PHOTO")"
echo "GET $URL"
RESP=$(curl -sf "$URL")
UPLOAD=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["uploadURL"])' <<<"$RESP")
KEY=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])' <<<"$RESP")
echo "upload URL: $UPLOAD"
curl -sf -H "Content-Type: image/jpeg" --upload-file "$PHOTO" "$UPLOAD"
echo "uploaded s3://$BUCKET/$KEY; waiting for thumbnails..."
for w in 80 500; do
  for _ in $(seq 1 200); do
    awsl s3api head-object --bucket "$THUMBS" --key "$w/$KEY.jpg" >/dev/null 2>&1 && break
    sleep 0.3
  done
  echo "s3://$THUMBS/$w/$KEY.jpg: $(awsl s3api head-object --bucket "$THUMBS" --key "$w/$KEY.jpg" --query ContentLength) bytes"
done

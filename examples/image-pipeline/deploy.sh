#!/usr/bin/env bash
# Seed scenario 5 (../../../shared/design/PRODUCT.md): GET /image/presigned-uri on an
# HTTP API returns a presigned S3 PUT URL (20 minutes); the browser (here: curl)
# uploads a photo straight to the object store; the bucket's ObjectCreated
# notification runs `resize`, which writes 80 and 500 px wide JPEGs to
# photos-resized/{width}/{key}.jpg. Run `make run` in the repository first, then:
#   bash deploy.sh path/to/photo.jpg
set -euo pipefail
cd "$(dirname "$0")"
PHOTO=${1:?usage: deploy.sh photo.jpg}
ENDPOINT=${ENDPOINT:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
awsl() { aws --endpoint-url "$ENDPOINT" --output text "$@"; }
ACCOUNT=123456789012
BUCKET=${BUCKET:-photos}

build() { # build a Go function as provided.al2023's bootstrap and zip it
  (cd "$1" && CGO_ENABLED=0 go build -o bootstrap . && rm -f function.zip && zip -q function.zip bootstrap && rm bootstrap)
}
build resize
# presign is Node.js: its locked npm dependencies go in the zip, as for any Lambda.
(cd presign && npm ci --omit=dev --no-audit --no-fund --loglevel=error && rm -f function.zip && zip -qr function.zip index.mjs package.json node_modules)

awsl s3 mb "s3://$BUCKET" >/dev/null
awsl s3 mb "s3://$BUCKET-resized" >/dev/null
awsl s3 mb "s3://$BUCKET-artifacts" >/dev/null
# Function code can come from S3, as SAM and CloudFormation deploy it.
awsl s3 cp --no-progress resize/function.zip "s3://$BUCKET-artifacts/resize.zip" >/dev/null
RESIZE=$(awsl lambda create-function --function-name resize --runtime provided.al2023 --handler bootstrap \
  --role arn:aws:iam::$ACCOUNT:role/resize --timeout 30 --memory-size 512 \
  --code "S3Bucket=$BUCKET-artifacts,S3Key=resize.zip" --query FunctionArn)
PRESIGN=$(awsl lambda create-function --function-name presign --runtime nodejs22.x --handler index.handler \
  --role arn:aws:iam::$ACCOUNT:role/presign --zip-file fileb://presign/function.zip --timeout 15 \
  --environment "Variables={UPLOAD_BUCKET=$BUCKET}" --query FunctionArn)

awsl lambda add-permission --function-name resize --statement-id s3 --action lambda:InvokeFunction \
  --principal s3.amazonaws.com --source-arn "arn:aws:s3:::$BUCKET" --source-account $ACCOUNT >/dev/null
awsl s3api put-bucket-notification-configuration --bucket "$BUCKET" --notification-configuration \
  "{\"LambdaFunctionConfigurations\":[{\"Id\":\"thumbnails\",\"LambdaFunctionArn\":\"$RESIZE\",\"Events\":[\"s3:ObjectCreated:*\"]}]}"
# Browsers upload cross-origin: allow PUT from any origin.
awsl s3api put-bucket-cors --bucket "$BUCKET" --cors-configuration \
  '{"CORSRules":[{"AllowedOrigins":["*"],"AllowedMethods":["PUT"],"AllowedHeaders":["*"],"ExposeHeaders":["ETag"]}]}'

API=$(awsl apigatewayv2 create-api --name image-pipeline --protocol-type HTTP --query ApiId)
INTEGRATION=$(awsl apigatewayv2 create-integration --api-id "$API" --integration-type AWS_PROXY \
  --integration-uri "$PRESIGN" --payload-format-version 2.0 --query IntegrationId)
awsl apigatewayv2 create-route --api-id "$API" --route-key "GET /image/presigned-uri" --target "integrations/$INTEGRATION" >/dev/null
awsl apigatewayv2 create-stage --api-id "$API" --stage-name '$default' --auto-deploy >/dev/null
awsl lambda add-permission --function-name presign --statement-id apigw --action lambda:InvokeFunction \
  --principal apigateway.amazonaws.com --source-arn "arn:aws:execute-api:us-east-1:$ACCOUNT:$API/*/*/image/presigned-uri" >/dev/null

PORT=${ENDPOINT##*:}
sleep 0.2
RESP=$(curl -s "http://$API.execute-api.localhost:$PORT/image/presigned-uri")
URL=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["uploadURL"])' <<<"$RESP")
KEY=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])' <<<"$RESP")
echo "upload URL: $URL"
curl -sf -H "Content-Type: image/jpeg" --upload-file "$PHOTO" "$URL"
echo "uploaded $KEY; waiting for thumbnails..."
for w in 80 500; do
  for _ in $(seq 1 100); do
    awsl s3api head-object --bucket "$BUCKET-resized" --key "$w/$KEY.jpg" >/dev/null 2>&1 && break
    sleep 0.3
  done
  echo "s3://$BUCKET-resized/$w/$KEY.jpg: $(awsl s3api head-object --bucket "$BUCKET-resized" --key "$w/$KEY.jpg" --query ContentLength) bytes"
done

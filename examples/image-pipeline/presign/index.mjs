// The image pipeline's upload-URL function (seed scenario 5): behind
// GET /image/presigned-uri it returns a presigned S3 PUT URL, valid for 20 minutes,
// for a new key in $UPLOAD_BUCKET. The browser uploads straight to the object store
// with it. Node.js with the AWS SDK for JavaScript v3 from the npm registry.
import { randomBytes } from "node:crypto";
import { S3Client, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

// URL_LIFETIME is how long an upload URL works, in seconds.
const URL_LIFETIME = 20 * 60;

// The client reads the region, the credentials and AWS_ENDPOINT_URL (Sluice's
// endpoint) from the function's environment, as it would on AWS. Path-style
// addressing because a custom endpoint is usually an address, not a DNS name.
const s3 = new S3Client({ forcePathStyle: true });

export const handler = async (event) => {
  const query = event.queryStringParameters ?? {};
  const key = query.name || randomBytes(8).toString("hex") + ".jpg";
  const command = new PutObjectCommand({
    Bucket: process.env.UPLOAD_BUCKET,
    Key: key,
    ContentType: query.contentType || "image/jpeg",
  });
  // Content-Type is signed: an upload with another type is refused.
  const uploadURL = await getSignedUrl(s3, command, {
    expiresIn: URL_LIFETIME,
    signableHeaders: new Set(["content-type"]),
  });
  return {
    statusCode: 200,
    headers: { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*" },
    body: JSON.stringify({
      uploadURL,
      key,
      expires: new Date(Date.now() + URL_LIFETIME * 1000).toISOString(),
    }),
  };
};

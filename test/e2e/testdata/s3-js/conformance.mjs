// S3 through the AWS SDK for JavaScript v3 (@aws-sdk/client-s3), as a Node.js
// user's code calls it: endpoint, region and credentials from the environment
// (AWS_ENDPOINT_URL...). Each step checks what real S3 answers; the first
// mismatch throws and the process exits non-zero with the step's name.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  S3Client, CreateBucketCommand, HeadBucketCommand, ListBucketsCommand, PutObjectCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, CopyObjectCommand,
  DeleteObjectsCommand, DeleteObjectCommand, DeleteBucketCommand, CreateMultipartUploadCommand,
  UploadPartCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand,
  ListPartsCommand, PutObjectTaggingCommand, GetObjectTaggingCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const s3 = new S3Client({ forcePathStyle: true });
const Bucket = "js-sdk-bucket";

function check(step, cond, detail) {
  if (!cond) throw new Error(`${step}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
}

async function expectError(step, promise, name, status) {
  try {
    await promise;
  } catch (err) {
    check(step, (name === null || err.name === name) && err.$metadata?.httpStatusCode === status,
      `got ${err.name} ${err.$metadata?.httpStatusCode}: ${err.message}`);
    return err;
  }
  throw new Error(`${step}: succeeded, want ${name}`);
}

await s3.send(new CreateBucketCommand({ Bucket }));
// us-east-1 answers 200 to re-creating a bucket you own (other regions: 409
// BucketAlreadyOwnedByYou).
await s3.send(new CreateBucketCommand({ Bucket }));
await s3.send(new HeadBucketCommand({ Bucket }));
await expectError("head missing bucket", s3.send(new HeadBucketCommand({ Bucket: "no-such-bucket-js" })), "NotFound", 404);
const buckets = await s3.send(new ListBucketsCommand({}));
check("list buckets", buckets.Buckets.some((b) => b.Name === Bucket), buckets.Buckets);

// A string body: the SDK sends its default CRC32 checksum as a header.
const put = await s3.send(new PutObjectCommand({
  Bucket, Key: "docs/hello world+1.txt", Body: "hello from node", ContentType: "text/plain",
  Metadata: { owner: "js" }, CacheControl: "max-age=60",
}));
check("put etag", put.ETag === '"' + createHash("md5").update("hello from node").digest("hex") + '"', put);
// A stream of known length: the SDK sends it aws-chunked with a trailing checksum.
const big = Buffer.alloc(256 * 1024, "abcdefgh");
const streamed = await s3.send(new PutObjectCommand({
  Bucket, Key: "docs/streamed.bin", Body: Readable.from([big.subarray(0, 100000), big.subarray(100000)]),
  ContentLength: big.length,
}));
check("streamed put", streamed.ChecksumCRC32 !== undefined, streamed);

const got = await s3.send(new GetObjectCommand({ Bucket, Key: "docs/hello world+1.txt" }));
const text = await got.Body.transformToString();
check("get body", text === "hello from node", text);
check("get metadata", got.Metadata.owner === "js" && got.ContentType === "text/plain" && got.CacheControl === "max-age=60", got);
const ranged = await s3.send(new GetObjectCommand({ Bucket, Key: "docs/hello world+1.txt", Range: "bytes=-4" }));
check("range", (await ranged.Body.transformToString()) === "node" && ranged.ContentRange === "bytes 11-14/15", ranged.ContentRange);
const whole = await s3.send(new GetObjectCommand({ Bucket, Key: "docs/streamed.bin" }));
check("streamed get", Buffer.from(await whole.Body.transformToByteArray()).equals(big), "bytes differ");
await expectError("missing key", s3.send(new GetObjectCommand({ Bucket, Key: "nope" })), "NoSuchKey", 404);
await expectError("missing bucket", s3.send(new GetObjectCommand({ Bucket: "no-such-bucket-js", Key: "k" })), "NoSuchBucket", 404);
// A 304 has no body, so the SDK cannot name it (it says "Unknown" against S3 too).
await expectError("if-none-match", s3.send(new GetObjectCommand({ Bucket, Key: "docs/hello world+1.txt", IfNoneMatch: put.ETag })), null, 304);
const head = await s3.send(new HeadObjectCommand({ Bucket, Key: "docs/streamed.bin" }));
check("head", head.ContentLength === big.length, head);

await s3.send(new CopyObjectCommand({ Bucket, Key: "copy.txt", CopySource: `${Bucket}/${encodeURIComponent("docs/hello world+1.txt")}` }));
const copied = await s3.send(new GetObjectCommand({ Bucket, Key: "copy.txt" }));
check("copy keeps metadata", copied.Metadata.owner === "js" && (await copied.Body.transformToString()) === "hello from node", copied);

const listed = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: "/" }));
check("list delimiter", listed.KeyCount === 2 && listed.Contents.map((o) => o.Key).join() === "copy.txt" &&
  listed.CommonPrefixes.map((p) => p.Prefix).join() === "docs/", listed);
const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: "docs/", MaxKeys: 1 }));
check("list page", page.IsTruncated && page.NextContinuationToken, page);
const next = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: "docs/", MaxKeys: 1, ContinuationToken: page.NextContinuationToken }));
check("list next page", !next.IsTruncated && next.Contents[0].Key === "docs/streamed.bin", next);

await s3.send(new PutObjectTaggingCommand({ Bucket, Key: "copy.txt", Tagging: { TagSet: [{ Key: "k", Value: "v" }] } }));
const tags = await s3.send(new GetObjectTaggingCommand({ Bucket, Key: "copy.txt" }));
check("tagging", tags.TagSet.length === 1 && tags.TagSet[0].Value === "v", tags);

// Multipart: a 5 MiB part and a small last one; ETag md5-of-md5s-2.
const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "multi.bin" }));
const part1 = Buffer.alloc(5 * 1024 * 1024, 1), part2 = Buffer.from("tail");
const p1 = await s3.send(new UploadPartCommand({ Bucket, Key: "multi.bin", UploadId: mp.UploadId, PartNumber: 1, Body: part1 }));
const p2 = await s3.send(new UploadPartCommand({ Bucket, Key: "multi.bin", UploadId: mp.UploadId, PartNumber: 2, Body: part2 }));
const parts = await s3.send(new ListPartsCommand({ Bucket, Key: "multi.bin", UploadId: mp.UploadId }));
check("list parts", parts.Parts.length === 2 && parts.Parts[1].Size === 4, parts);
const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: "multi.bin", UploadId: mp.UploadId,
  MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag, ChecksumCRC32: p1.ChecksumCRC32 }, { PartNumber: 2, ETag: p2.ETag, ChecksumCRC32: p2.ChecksumCRC32 }] } }));
check("complete", /-2"$/.test(done.ETag), done);
const small = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "small.bin" }));
const s1 = await s3.send(new UploadPartCommand({ Bucket, Key: "small.bin", UploadId: small.UploadId, PartNumber: 1, Body: "a" }));
const s2 = await s3.send(new UploadPartCommand({ Bucket, Key: "small.bin", UploadId: small.UploadId, PartNumber: 2, Body: "b" }));
await expectError("entity too small", s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: "small.bin", UploadId: small.UploadId,
  MultipartUpload: { Parts: [{ PartNumber: 1, ETag: s1.ETag }, { PartNumber: 2, ETag: s2.ETag }] } })), "EntityTooSmall", 400);
await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: "small.bin", UploadId: small.UploadId }));
await expectError("aborted upload", s3.send(new ListPartsCommand({ Bucket, Key: "small.bin", UploadId: small.UploadId })), "NoSuchUpload", 404);

// Presigned GET fetched with Node's own fetch, and the same URL altered.
const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: "docs/hello world+1.txt" }), { expiresIn: 60 });
const fetched = await fetch(url);
check("presigned get", fetched.status === 200 && (await fetched.text()) === "hello from node", fetched.status);
const altered = await fetch(url.replace("hello%20world", "hello%20World"));
const alteredBody = await altered.text();
check("altered presigned get", altered.status === 403 && alteredBody.includes("<Code>SignatureDoesNotMatch</Code>"), alteredBody);

await expectError("delete non-empty bucket", s3.send(new DeleteBucketCommand({ Bucket })), "BucketNotEmpty", 409);
const del = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Quiet: true, Objects: ["copy.txt", "docs/hello world+1.txt", "docs/streamed.bin", "never-existed"].map((Key) => ({ Key })) } }));
check("delete objects quiet", (del.Deleted ?? []).length === 0 && (del.Errors ?? []).length === 0, del);
await s3.send(new DeleteObjectCommand({ Bucket, Key: "multi.bin" }));
await s3.send(new DeleteBucketCommand({ Bucket }));
console.log("ok");

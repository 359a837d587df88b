"""S3 conformance checks driven by boto3 against a running Sluice.

Usage: boto3_conformance.py ENDPOINT ACCESS_KEY SECRET. Prints "ok" and exits 0 when
every check passes; otherwise raises with the failing check.
"""
import datetime
import hashlib
import io
import sys
import time
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.config import Config

endpoint, key_id, secret = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


def expect_error(code, status, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        st = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert (got, st) == (code, status), f"{fn.__name__}: got {got} {st}, want {code} {status}: {e.response}"
        return e.response
    raise AssertionError(f"{fn.__name__}: no error, want {code}")


def http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


b = "boto-conformance"
s3.create_bucket(Bucket=b)
# us-east-1 answers 200 to re-creating one's own bucket.
s3.create_bucket(Bucket=b)
expect_error("InvalidBucketName", 400, s3.create_bucket, Bucket="a_b")
expect_error("InvalidLocationConstraint", 400, s3.create_bucket, Bucket="loc-test",
             CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
expect_error("NoSuchBucket", 404, s3.get_object, Bucket="no-such-bucket-x", Key="k")
expect_error("404", 404, s3.head_bucket, Bucket="no-such-bucket-x")
assert s3.get_bucket_location(Bucket=b)["LocationConstraint"] is None
assert b in [x["Name"] for x in s3.list_buckets()["Buckets"]]

# Objects: metadata, standard headers, checksums, conditional reads, ranges.
body = b"hello world " * 1000
r = s3.put_object(Bucket=b, Key="dir/a b+c.txt", Body=body, ContentType="text/plain",
                  Metadata={"color": "blue"}, CacheControl="max-age=60", ContentDisposition="inline",
                  ChecksumAlgorithm="SHA256")
etag = r["ETag"]
assert etag == '"%s"' % hashlib.md5(body).hexdigest(), etag
g = s3.get_object(Bucket=b, Key="dir/a b+c.txt", ChecksumMode="ENABLED")
assert g["Body"].read() == body
assert g["ContentType"] == "text/plain" and g["Metadata"] == {"color": "blue"}, g
assert g["CacheControl"] == "max-age=60" and g["ContentDisposition"] == "inline"
h = s3.head_object(Bucket=b, Key="dir/a b+c.txt")
assert h["ContentLength"] == len(body) and h["ETag"] == etag
rng = s3.get_object(Bucket=b, Key="dir/a b+c.txt", Range="bytes=6-10")
assert rng["Body"].read() == b"world" and rng["ContentRange"] == f"bytes 6-10/{len(body)}"
assert s3.get_object(Bucket=b, Key="dir/a b+c.txt", Range="bytes=-3")["Body"].read() == b"ld "
expect_error("InvalidRange", 416, s3.get_object, Bucket=b, Key="dir/a b+c.txt", Range=f"bytes={len(body)}-")
expect_error("PreconditionFailed", 412, s3.get_object, Bucket=b, Key="dir/a b+c.txt", IfMatch='"nope"')
expect_error("304", 304, s3.get_object, Bucket=b, Key="dir/a b+c.txt", IfNoneMatch=etag)
future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
expect_error("304", 304, s3.get_object, Bucket=b, Key="dir/a b+c.txt", IfModifiedSince=future)
over = s3.get_object(Bucket=b, Key="dir/a b+c.txt", ResponseContentType="application/x-test",
                     ResponseContentDisposition="attachment")
assert over["ContentType"] == "application/x-test" and over["ContentDisposition"] == "attachment"
expect_error("NoSuchKey", 404, s3.get_object, Bucket=b, Key="missing")
expect_error("404", 404, s3.head_object, Bucket=b, Key="missing")
expect_error("BadDigest", 400, s3.put_object, Bucket=b, Key="bad", Body=b"abc",
             ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
# Conditional create.
expect_error("PreconditionFailed", 412, s3.put_object, Bucket=b, Key="dir/a b+c.txt", Body=b"x", IfNoneMatch="*")

# Listing: prefix, delimiter, pagination, start-after, url encoding.
for i in range(7):
    s3.put_object(Bucket=b, Key=f"list/{i:02d}", Body=b"x")
s3.put_object(Bucket=b, Key="list/sub/deep", Body=b"x")
page = s3.list_objects_v2(Bucket=b, Prefix="list/", Delimiter="/", MaxKeys=3)
assert [o["Key"] for o in page["Contents"]] == ["list/00", "list/01", "list/02"] and page["IsTruncated"], page
keys = []
token = None
while True:
    kw = {"ContinuationToken": token} if token else {}
    p = s3.list_objects_v2(Bucket=b, Prefix="list/", Delimiter="/", MaxKeys=3, **kw)
    keys += [o["Key"] for o in p.get("Contents", [])] + [c["Prefix"] for c in p.get("CommonPrefixes", [])]
    if not p["IsTruncated"]:
        break
    token = p["NextContinuationToken"]
assert keys == [f"list/{i:02d}" for i in range(7)] + ["list/sub/"], keys
sa = s3.list_objects_v2(Bucket=b, Prefix="list/", StartAfter="list/05")
assert [o["Key"] for o in sa["Contents"]] == ["list/06", "list/sub/deep"], sa
v1 = s3.list_objects(Bucket=b, Prefix="list/", Delimiter="/", MaxKeys=2)
assert v1["IsTruncated"] and v1["NextMarker"] == "list/01", v1
enc = s3.list_objects_v2(Bucket=b, Prefix="dir/")
assert [o["Key"] for o in enc["Contents"]] == ["dir/a b+c.txt"], enc  # boto3 decodes encoding-type=url
paginator = s3.get_paginator("list_objects_v2")
assert sum(len(p.get("Contents", [])) for p in paginator.paginate(Bucket=b, Prefix="list/", PaginationConfig={"PageSize": 2})) == 8

# Copy: COPY keeps metadata, REPLACE replaces it, self-copy must change something.
s3.copy_object(Bucket=b, Key="copy.txt", CopySource={"Bucket": b, "Key": "dir/a b+c.txt"})
assert s3.head_object(Bucket=b, Key="copy.txt")["Metadata"] == {"color": "blue"}
s3.copy_object(Bucket=b, Key="copy.txt", CopySource={"Bucket": b, "Key": "copy.txt"},
               MetadataDirective="REPLACE", Metadata={"color": "red"}, ContentType="text/x")
h = s3.head_object(Bucket=b, Key="copy.txt")
assert h["Metadata"] == {"color": "red"} and h["ContentType"] == "text/x", h
expect_error("InvalidRequest", 400, s3.copy_object, Bucket=b, Key="copy.txt", CopySource={"Bucket": b, "Key": "copy.txt"})
expect_error("PreconditionFailed", 412, s3.copy_object, Bucket=b, Key="c2", CopySource={"Bucket": b, "Key": "copy.txt"},
             CopySourceIfMatch='"nope"')
assert s3.get_object(Bucket=b, Key="copy.txt")["Body"].read() == body

# Tagging.
s3.put_object_tagging(Bucket=b, Key="copy.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
assert s3.get_object_tagging(Bucket=b, Key="copy.txt")["TagSet"] == [{"Key": "k", "Value": "v"}]
s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
assert s3.get_bucket_tagging(Bucket=b)["TagSet"] == [{"Key": "team", "Value": "a"}]
s3.delete_bucket_tagging(Bucket=b)
expect_error("NoSuchTagSet", 404, s3.get_bucket_tagging, Bucket=b)

# Versioning status, policy (an empty Statement is malformed, as S3 says), CORS.
assert "Status" not in s3.get_bucket_versioning(Bucket=b)
expect_error("MalformedPolicy", 400, s3.put_bucket_policy, Bucket=b, Policy='{"Version":"2012-10-17","Statement":[]}')
expect_error("NoSuchBucketPolicy", 404, s3.get_bucket_policy, Bucket=b)
expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=b)
s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["https://app.example"],
                   "AllowedMethods": ["PUT", "GET"], "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]})
assert s3.get_bucket_cors(Bucket=b)["CORSRules"][0]["AllowedMethods"] == ["PUT", "GET"]
st, _, hd = http("OPTIONS", f"{endpoint}/{b}/upload.jpg", headers={"Origin": "https://app.example",
                 "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"})
assert st == 200 and hd["Access-Control-Allow-Origin"] == "https://app.example", (st, hd)
assert hd["Access-Control-Allow-Methods"] == "PUT, GET" and hd["Access-Control-Max-Age"] == "600", hd
st, body403, _ = http("OPTIONS", f"{endpoint}/{b}/upload.jpg", headers={"Origin": "https://evil.example",
                      "Access-Control-Request-Method": "PUT"})
assert st == 403 and b"<Code>AccessForbidden</Code>" in body403, (st, body403)

# Presigned URLs: GET and PUT work; expired and tampered ones are refused in S3's words.
url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "dir/a b+c.txt"}, ExpiresIn=600)
st, got, _ = http("GET", url)
assert st == 200 and got.startswith(b"hello world"), st
put = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "presigned.bin", "ContentType": "image/jpeg"}, ExpiresIn=600)
st, _, _ = http("PUT", put, data=b"jpegbytes", headers={"Content-Type": "image/jpeg"})
assert st == 200, st
assert s3.get_object(Bucket=b, Key="presigned.bin")["Body"].read() == b"jpegbytes"
st, err, _ = http("PUT", put, data=b"x", headers={"Content-Type": "text/plain"})
assert st == 403 and b"<Code>SignatureDoesNotMatch</Code>" in err, (st, err)
st, err, _ = http("GET", url.replace("a%20b", "a%20c"))
assert st == 403 and b"<Code>SignatureDoesNotMatch</Code>" in err, (st, err)
st, err, _ = http("GET", url.replace(f"/{b}/", "/other-bucket/"))
assert st == 403 and b"<Code>SignatureDoesNotMatch</Code>" in err, (st, err)
short = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "presigned.bin"}, ExpiresIn=1)
time.sleep(2.1)
st, err, _ = http("GET", short)
assert st == 403 and b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in err, (st, err)
# boto3's default presigner (no signature_version) signs Signature Version 2 URLs.
s3v2 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                    region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
url2 = s3v2.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "dir/a b+c.txt"}, ExpiresIn=600)
assert "AWSAccessKeyId=" in url2, url2
st, got, _ = http("GET", url2)
assert st == 200 and got.startswith(b"hello world"), st
put2 = s3v2.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "v2.jpg", "ContentType": "image/jpeg"}, ExpiresIn=600)
assert http("PUT", put2, data=b"v2", headers={"Content-Type": "image/jpeg"})[0] == 200
st, err, _ = http("PUT", put2, data=b"v2", headers={"Content-Type": "text/plain"})
assert st == 403 and b"<Code>SignatureDoesNotMatch</Code>" in err, (st, err)
st, err, _ = http("GET", url2.replace("a%20b", "a%20c"))
assert st == 403 and b"<Code>SignatureDoesNotMatch</Code>" in err, (st, err)
short2 = s3v2.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "v2.jpg"}, ExpiresIn=1)
time.sleep(2.1)
st, err, _ = http("GET", short2)
assert st == 403 and b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in err, (st, err)
st, err, _ = http("GET", f"{endpoint}/{b}/presigned.bin")
assert st == 403 and b"<Code>AccessDenied</Code>" in err, (st, err)

# Multipart: parts, list, the ETag S3 computes, EntityTooSmall, InvalidPartOrder, abort.
mp = s3.create_multipart_upload(Bucket=b, Key="mp.bin")
uid = mp["UploadId"]
p1 = b"a" * (5 << 20)
p2 = b"b" * 1000
e1 = s3.upload_part(Bucket=b, Key="mp.bin", UploadId=uid, PartNumber=1, Body=p1)["ETag"]
e2 = s3.upload_part(Bucket=b, Key="mp.bin", UploadId=uid, PartNumber=2, Body=p2)["ETag"]
assert [p["PartNumber"] for p in s3.list_parts(Bucket=b, Key="mp.bin", UploadId=uid)["Parts"]] == [1, 2]
assert uid in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b)["Uploads"]]
expect_error("InvalidPartOrder", 400, s3.complete_multipart_upload, Bucket=b, Key="mp.bin", UploadId=uid,
             MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
expect_error("InvalidPart", 400, s3.complete_multipart_upload, Bucket=b, Key="mp.bin", UploadId=uid,
             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]})
done = s3.complete_multipart_upload(Bucket=b, Key="mp.bin", UploadId=uid,
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
want = hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(p2).digest()).hexdigest() + "-2"
assert done["ETag"] == f'"{want}"', done
assert s3.get_object(Bucket=b, Key="mp.bin", Range="bytes=5242878-5242881")["Body"].read() == b"aabb"
assert s3.get_object(Bucket=b, Key="mp.bin", PartNumber=2)["Body"].read() == p2
expect_error("NoSuchUpload", 404, s3.upload_part, Bucket=b, Key="mp.bin", UploadId=uid, PartNumber=3, Body=b"x")
small = s3.create_multipart_upload(Bucket=b, Key="small.bin")["UploadId"]
s1 = s3.upload_part(Bucket=b, Key="small.bin", UploadId=small, PartNumber=1, Body=b"tiny")["ETag"]
s2 = s3.upload_part(Bucket=b, Key="small.bin", UploadId=small, PartNumber=2, Body=b"tiny")["ETag"]
expect_error("EntityTooSmall", 400, s3.complete_multipart_upload, Bucket=b, Key="small.bin", UploadId=small,
             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": s1}, {"PartNumber": 2, "ETag": s2}]})
s3.abort_multipart_upload(Bucket=b, Key="small.bin", UploadId=small)
expect_error("NoSuchUpload", 404, s3.list_parts, Bucket=b, Key="small.bin", UploadId=small)
# upload_fileobj uses multipart above its threshold, with checksums, as applications do.
from boto3.s3.transfer import TransferConfig
big = bytes(range(256)) * (48 << 10)  # 12 MiB
s3.upload_fileobj(io.BytesIO(big), b, "transfer.bin", Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
out = io.BytesIO()
s3.download_fileobj(b, "transfer.bin", out)
assert out.getvalue() == big

# DeleteObjects (quiet and not), then the bucket can go.
expect_error("BucketNotEmpty", 409, s3.delete_bucket, Bucket=b)
all_keys = [o["Key"] for p in paginator.paginate(Bucket=b) for o in p.get("Contents", [])]
res = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in all_keys[:3]]})
assert sorted(d["Key"] for d in res["Deleted"]) == sorted(all_keys[:3]), res
res = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in all_keys[3:]], "Quiet": True})
assert "Deleted" not in res, res
s3.delete_object(Bucket=b, Key="never-existed")
s3.delete_bucket(Bucket=b)
expect_error("NoSuchBucket", 404, s3.list_objects_v2, Bucket=b)
print("ok")

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice/internal/sigv4"
)

const (
	sdkKeyID  = "AKIDSLUICETEST"
	sdkSecret = "sluice-test-secret"
)

// startVerifyS3 starts sluice in verify mode whose root key is the SDK's.
func startVerifyS3(t *testing.T) *instance {
	return startSluice(t, startOpts{args: []string{"--auth-mode", "verify"},
		env: []string{"SLUICE_ROOT_ACCESS_KEY_ID=" + sdkKeyID, "SLUICE_ROOT_SECRET_ACCESS_KEY=" + sdkSecret}})
}

func s3Client(s *instance, pathStyle bool, endpoint string) *s3.Client {
	cfg := s.sdkConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(sdkKeyID, sdkSecret, "")
	// Every host (virtual-hosted bucket.localhost too) is this sluice.
	dialer := &net.Dialer{}
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, s.Addr)
	}}}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		o.BaseEndpoint = aws.String(endpoint)
	})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// aws-sdk-go-v2's S3 client, path style and virtual-hosted style, with its default
// checksums, and the errors it maps to types.
func TestS3SDKGo(t *testing.T) {
	s := startVerifyS3(t)
	ctx := context.Background()
	port := s.Addr[strings.LastIndex(s.Addr, ":")+1:]
	for _, tc := range []struct {
		name      string
		pathStyle bool
		endpoint  string
	}{
		{"path", true, s.URL},
		{"virtual-hosted", false, "http://s3.localhost:" + port},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3Client(s, tc.pathStyle, tc.endpoint)
			bucket := "sdk-" + tc.name
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatal(err)
			}
			key := "dir/ü € +.txt"
			put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
				Body: strings.NewReader("hello sdk"), Metadata: map[string]string{"k": "v"}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(got.Body)
			got.Body.Close()
			if string(body) != "hello sdk" || aws.ToString(got.ETag) != aws.ToString(put.ETag) || got.Metadata["k"] != "v" {
				t.Fatalf("got %q etag %s meta %v", body, aws.ToString(got.ETag), got.Metadata)
			}
			list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("dir/")})
			if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != key {
				t.Fatalf("list = %+v, %v", list, err)
			}
			_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")})
			var nsk *types.NoSuchKey
			if !errors.As(err, &nsk) {
				t.Fatalf("missing key: %v", err)
			}
			_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")})
			var nf *types.NotFound
			if !errors.As(err, &nf) {
				t.Fatalf("head missing key: %v", err)
			}
			if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); apiCode(err) != "BucketNotEmpty" {
				t.Fatalf("delete non-empty bucket: %v", err)
			}
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatal(err)
			}
			_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			var nsb *types.NoSuchBucket
			if !errors.As(err, &nsb) {
				t.Fatalf("deleted bucket: %v", err)
			}
		})
	}
	c := s3Client(s, true, s.URL)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Invalid_Name")}); apiCode(err) != "InvalidBucketName" {
		t.Fatalf("invalid name: %v", err)
	}
}

// Presigned URLs from aws-sdk-go-v2: an expired one is AccessDenied "Request has
// expired", a tampered one SignatureDoesNotMatch, in S3's XML.
func TestS3PresignedErrors(t *testing.T) {
	s := startVerifyS3(t)
	ctx := context.Background()
	c := s3Client(s, true, s.URL)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("presign")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("presign"), Key: aws.String("a b.txt"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	p := s3.NewPresignClient(c)
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ok, err := p.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("presign"), Key: aws.String("a b.txt")}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(ok.URL); code != 200 || body != "x" {
		t.Fatalf("presigned GET: %d %s", code, body)
	}
	expired, err := p.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("presign"), Key: aws.String("a b.txt")},
		s3.WithPresignExpires(time.Minute), func(o *s3.PresignOptions) {
			o.Presigner = pastPresigner{v4.NewSigner(), -2 * time.Minute}
		})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(expired.URL); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code><Message>Request has expired</Message>") {
		t.Fatalf("expired: %d %s", code, body)
	}
	for name, url := range map[string]string{
		"key":       strings.Replace(ok.URL, "a%20b.txt", "a%20c.txt", 1),
		"expires":   strings.Replace(ok.URL, "X-Amz-Expires=3600", "X-Amz-Expires=3601", 1),
		"signature": ok.URL[:len(ok.URL)-4] + "0000",
	} {
		if code, body := get(url); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
			t.Fatalf("tampered %s: %d %s", name, code, body)
		}
	}
}

// pastPresigner presigns as of a moment in the past.
type pastPresigner struct {
	signer *v4.Signer
	shift  time.Duration
}

func (p pastPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	signingTime time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, signingTime.Add(p.shift), optFns...)
}

// aws-chunked uploads signed chunk by chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) and
// unsigned with a trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER): good ones
// store the decoded bytes; a bad chunk signature or checksum stores nothing.
func TestS3ChunkedUploads(t *testing.T) {
	s := startVerifyS3(t)
	ctx := context.Background()
	c := s3Client(s, true, s.URL)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("chunked")}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 9000) // 144000 bytes: 3 chunks of 64 KiB
	send := func(key string, corrupt bool) (int, string) {
		return sendSignedChunks(t, s, "/chunked/"+key, data, 64<<10, corrupt)
	}
	if code, body := send("good.bin", false); code != 200 {
		t.Fatalf("signed chunks: %d %s", code, body)
	}
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("chunked"), Key: aws.String("good.bin")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want %d", len(got), len(data))
	}
	if code, body := send("bad.bin", true); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("bad chunk signature: %d %s", code, body)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("chunked"), Key: aws.String("bad.bin")}); err == nil {
		t.Fatal("an upload with a bad chunk signature is visible")
	}

	sum := crc32.ChecksumIEEE(data)
	crc := base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	if code, body := sendUnsignedTrailer(t, s, "/chunked/trailer.bin", data, crc); code != 200 {
		t.Fatalf("unsigned trailer: %d %s", code, body)
	}
	if code, body := sendUnsignedTrailer(t, s, "/chunked/trailer-bad.bin", data, "AAAAAA=="); code != 400 || !strings.Contains(body, "<Code>BadDigest</Code>") {
		t.Fatalf("bad trailing checksum: %d %s", code, body)
	}
}

// sendSignedChunks PUTs data as STREAMING-AWS4-HMAC-SHA256-PAYLOAD; corrupt spoils the
// second chunk's signature.
func sendSignedChunks(t *testing.T, s *instance, path string, data []byte, chunk int, corrupt bool) (int, string) {
	t.Helper()
	var chunks [][]byte
	for off := 0; off < len(data); off += chunk {
		chunks = append(chunks, data[off:min(off+chunk, len(data))])
	}
	encodedLen := 0
	for _, c := range append(chunks, nil) {
		encodedLen += len(fmt.Sprintf("%x;chunk-signature=", len(c))) + 64 + 2 + len(c) + 2
	}
	req, _ := http.NewRequest("PUT", s.URL+path, nil)
	now := time.Now().UTC()
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	req.Header.Set("X-Amz-Content-Sha256", sigv4.StreamingSigned)
	req.ContentLength = int64(encodedLen)
	creds := aws.Credentials{AccessKeyID: sdkKeyID, SecretAccessKey: sdkSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sigv4.StreamingSigned, "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	seed := auth[strings.LastIndex(auth, "Signature=")+len("Signature="):]
	signing := sigv4.NewChunkSigning(sdkSecret, sigv4.Scope{AccessKeyID: sdkKeyID, Date: now.Format("20060102"), Region: "us-east-1", Service: "s3"},
		now.Format("20060102T150405Z"), seed, false)
	var body bytes.Buffer
	prev := seed
	for i, c := range append(chunks, nil) {
		h := sha256.Sum256(c)
		prev = signing.ChunkSignature(prev, h[:])
		sig := prev
		if corrupt && i == 1 {
			sig = strings.Repeat("0", 64)
		}
		fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n", len(c), sig)
		body.Write(c)
		body.WriteString("\r\n")
	}
	if body.Len() != encodedLen {
		t.Fatalf("encoded %d bytes, declared %d", body.Len(), encodedLen)
	}
	req.Body = io.NopCloser(&body)
	return doRaw(t, req)
}

// sendUnsignedTrailer PUTs data as STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32
// trailer, as current SDKs do over TLS.
func sendUnsignedTrailer(t *testing.T, s *instance, path string, data []byte, crc string) (int, string) {
	t.Helper()
	var body bytes.Buffer
	fmt.Fprintf(&body, "%x\r\n", len(data))
	body.Write(data)
	body.WriteString("\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n")
	req, _ := http.NewRequest("PUT", s.URL+path, bytes.NewReader(body.Bytes()))
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	req.Header.Set("X-Amz-Content-Sha256", sigv4.StreamingUnsignedTrailer)
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	req.Header.Set("X-Amz-Sdk-Checksum-Algorithm", "CRC32")
	creds := aws.Credentials{AccessKeyID: sdkKeyID, SecretAccessKey: sdkSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sigv4.StreamingUnsignedTrailer, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return doRaw(t, req)
}

func doRaw(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

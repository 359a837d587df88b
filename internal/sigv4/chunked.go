package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// Payload modes an S3 request declares in x-amz-content-sha256 for an aws-chunked
// body (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html).
const (
	// StreamingSigned: every chunk carries a signature chained from the seed
	// signature in the Authorization header.
	StreamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingSignedTrailer: signed chunks, then trailing headers (a checksum)
	// with their own x-amz-trailer-signature.
	StreamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// StreamingUnsignedTrailer: unsigned chunks and a trailing checksum; what
	// current boto3, AWS CLI and SDKs send for uploads over TLS.
	StreamingUnsignedTrailer = streamingUnsignedTrailer
)

// IsStreaming reports whether an x-amz-content-sha256 value declares an aws-chunked body.
func IsStreaming(contentSHA256 string) bool {
	switch contentSHA256 {
	case StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer:
		return true
	}
	return false
}

// ChunkSigning is what checking the chunk signatures of a verified streaming request
// needs: the derived signing key, the request's time and scope, and the seed
// signature (the Authorization header's) that the first chunk signature chains from.
// Verify puts it on the Identity when the request was signed with a known key.
type ChunkSigning struct {
	key      []byte
	amzDate  string // 20060102T150405Z
	scope    string // date/region/service/aws4_request
	seed     string
	trailers bool // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
}

// NewChunkSigning derives the chunk-signing state for a request signed by secret at
// signedAt within scope with the given seed signature. The verifier builds it; tests
// and clients that sign chunks use it too.
func NewChunkSigning(secret string, scope Scope, signedAt string, seed string, trailers bool) *ChunkSigning {
	var kc keyCache
	return &ChunkSigning{key: kc.signingKey(secret, scope), amzDate: signedAt,
		scope: scope.Date + "/" + scope.Region + "/" + scope.Service + "/" + terminator, seed: seed, trailers: trailers}
}

// ChunkSignature is the signature of one chunk given the previous chunk's (or the
// seed) signature: HMAC of
//
//	AWS4-HMAC-SHA256-PAYLOAD \n date \n scope \n previous \n hash("") \n hash(chunk)
func (c *ChunkSigning) ChunkSignature(previous string, chunkSHA256 []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + previous + "\n" +
		emptySHA256 + "\n" + hex.EncodeToString(chunkSHA256)
	return hex.EncodeToString(hmacSHA256(c.key, sts))
}

// TrailerSignature signs the canonical trailing headers ("name:value\n" each):
//
//	AWS4-HMAC-SHA256-TRAILER \n date \n scope \n previous \n hash(trailers)
func (c *ChunkSigning) TrailerSignature(previous string, canonicalTrailers string) string {
	sum := sha256.Sum256([]byte(canonicalTrailers))
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.amzDate + "\n" + c.scope + "\n" + previous + "\n" + hex.EncodeToString(sum[:])
	return hex.EncodeToString(hmacSHA256(c.key, sts))
}

// Errors of a malformed or tampered aws-chunked body, in S3's words.
var (
	errChunkSignature = awsproto.Errorf(http.StatusForbidden, CodeS3SignatureDoesNotMatch, "%s", msgS3SignatureMismatch)
	errChunkMalformed = awsproto.Errorf(http.StatusBadRequest, "IncompleteBody",
		"The request body terminated unexpectedly or is not valid aws-chunked encoding.")
)

// maxChunkLine bounds a chunk header or trailer line; real ones are under 200 bytes.
const maxChunkLine = 4096

// ChunkedReader decodes an aws-chunked body as it streams, checking each chunk's
// signature at the chunk's end when signing is known, and collecting the trailing
// headers. A failed check surfaces as a Read error (an *awsproto.Error), so a caller
// that streams the body to disk discards the upload.
type ChunkedReader struct {
	br        *bufio.Reader
	payload   string
	signing   *ChunkSigning // nil: chunks are not signed, or the key is unknown (open mode)
	prev      string        // previous signature in the chain
	remaining int64         // bytes left in the current chunk
	chunkSig  string        // the current chunk's declared signature
	hash      hash.Hash     // sha256 of the current chunk, when verifying
	trailers  http.Header
	done      bool
	err       error
	decoded   int64
}

// NewChunkedReader decodes body, whose x-amz-content-sha256 was payload (one of the
// Streaming* modes). signing may be nil (unsigned chunks, or an unknown key accepted
// in open mode); then chunk signatures are parsed but not checked.
func NewChunkedReader(body io.Reader, payload string, signing *ChunkSigning) *ChunkedReader {
	c := &ChunkedReader{br: bufio.NewReaderSize(body, 64<<10), payload: payload, trailers: http.Header{}}
	if payload != StreamingUnsignedTrailer && signing != nil {
		c.signing = signing
		c.prev = signing.seed
		c.hash = sha256.New()
	}
	return c
}

// Trailers returns the trailing headers (canonical names); complete after Read
// returned io.EOF.
func (c *ChunkedReader) Trailers() http.Header { return c.trailers }

// Decoded is how many payload bytes were read so far.
func (c *ChunkedReader) Decoded() int64 { return c.decoded }

func (c *ChunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.remaining == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.nextChunk(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	c.remaining -= int64(n)
	c.decoded += int64(n)
	if c.hash != nil {
		c.hash.Write(p[:n])
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errChunkMalformed
		}
		c.err = err
		return n, err
	}
	if c.remaining == 0 {
		if err := c.endChunk(false); err != nil {
			c.err = err
			return n, err
		}
	}
	return n, nil
}

// nextChunk reads "hex-size[;chunk-signature=sig]\r\n"; a zero size ends the data
// and reads the trailer.
func (c *ChunkedReader) nextChunk() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
	if err != nil || size < 0 {
		return errChunkMalformed
	}
	c.chunkSig = ""
	if name, sig, ok := strings.Cut(ext, "="); ok && strings.TrimSpace(name) == "chunk-signature" {
		c.chunkSig = strings.TrimSpace(sig)
	}
	if c.signing != nil && c.chunkSig == "" {
		return errChunkSignature
	}
	if size > 0 {
		c.remaining = size
		return nil
	}
	// The final, empty chunk is signed like any other.
	if err := c.endChunk(true); err != nil {
		return err
	}
	c.done = true
	return c.readTrailer()
}

// endChunk checks the finished chunk's signature and, after a data chunk, consumes
// the CRLF that ends its data (the final, empty chunk's header line is followed by
// the trailer instead).
func (c *ChunkedReader) endChunk(final bool) error {
	if c.signing != nil {
		want := c.signing.ChunkSignature(c.prev, c.hash.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(c.chunkSig)) {
			return errChunkSignature
		}
		c.prev = want
		c.hash.Reset()
	}
	if final {
		return nil
	}
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil || string(crlf[:]) != "\r\n" {
		return errChunkMalformed
	}
	return nil
}

// readTrailer reads trailing "name:value" lines up to an empty line or the end of the
// body. With signed trailers the last one is x-amz-trailer-signature.
func (c *ChunkedReader) readTrailer() error {
	var canonical strings.Builder
	trailerSig := ""
	for {
		line, err := c.readLine()
		if errors.Is(err, io.EOF) {
			break // some clients end the body right after the last trailer line
		}
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return errChunkMalformed
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			trailerSig = value
			continue
		}
		canonical.WriteString(name + ":" + value + "\n")
		c.trailers.Add(textproto.CanonicalMIMEHeaderKey(name), value)
	}
	if c.signing != nil && c.signing.trailers {
		want := c.signing.TrailerSignature(c.prev, canonical.String())
		if !hmac.Equal([]byte(want), []byte(trailerSig)) {
			return errChunkSignature
		}
	}
	return nil
}

// readLine reads one CRLF-terminated line without its terminator.
func (c *ChunkedReader) readLine() (string, error) {
	var buf []byte
	for {
		frag, err := c.br.ReadSlice('\n')
		buf = append(buf, frag...)
		if len(buf) > maxChunkLine {
			return "", errChunkMalformed
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(buf) == 0 {
			return "", io.EOF
		}
		return "", errChunkMalformed
	}
	return string(bytes.TrimRight(buf, "\r\n")), nil
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

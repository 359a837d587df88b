package sigv4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// The example of https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html:
// 66560 bytes of 'a' in a 65536-byte chunk, a 1024-byte chunk and the final one.
var docsSigning = NewChunkSigning("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	Scope{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Date: "20130524", Region: "us-east-1", Service: "s3"},
	"20130524T000000Z", "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", false)

func docsBody(sig1 string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "10000;chunk-signature=%s\r\n%s\r\n", sig1, strings.Repeat("a", 65536))
	fmt.Fprintf(&b, "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n%s\r\n", strings.Repeat("a", 1024))
	b.WriteString("0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
	return b.String()
}

func TestChunkedReaderDocsExample(t *testing.T) {
	r := NewChunkedReader(strings.NewReader(docsBody("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")), StreamingSigned, docsSigning)
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
		t.Fatalf("decoded %d bytes", len(got))
	}
}

func TestChunkedReaderRejects(t *testing.T) {
	good := docsBody("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")
	cases := []struct {
		name, body, code string
	}{
		{"bad chunk signature", docsBody(strings.Repeat("0", 64)), CodeS3SignatureDoesNotMatch},
		{"tampered data", strings.Replace(good, "aaaa", "aaab", 1), CodeS3SignatureDoesNotMatch},
		{"truncated", good[:66000], "IncompleteBody"},
		{"bad size", "zz;chunk-signature=x\r\n", "IncompleteBody"},
		{"missing signature", "4\r\nabcd\r\n0\r\n\r\n", CodeS3SignatureDoesNotMatch},
		{"no crlf after data", strings.Replace(good, strings.Repeat("a", 65536)+"\r\n", strings.Repeat("a", 65536)+"xx", 1), "IncompleteBody"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := io.ReadAll(NewChunkedReader(strings.NewReader(tc.body), StreamingSigned, docsSigning))
			var ae *awsproto.Error
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
		})
	}
}

func TestChunkedReaderUnsignedTrailer(t *testing.T) {
	body := "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
	r := NewChunkedReader(strings.NewReader(body), StreamingUnsignedTrailer, nil)
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "hello world" {
		t.Fatalf("got %q, %v", got, err)
	}
	if v := r.Trailers().Get("X-Amz-Checksum-Crc32"); v != "DUoRhQ==" {
		t.Fatalf("trailer = %q", v)
	}
}

func TestChunkedReaderSignedTrailer(t *testing.T) {
	s := NewChunkSigning("secret", Scope{AccessKeyID: "AK", Date: "20240101", Region: "us-east-1", Service: "s3"}, "20240101T000000Z", strings.Repeat("a", 64), true)
	body, _ := signChunks(s, [][]byte{[]byte("hello")}, "x-amz-checksum-crc32:NhCmhg==\n")
	got, err := io.ReadAll(NewChunkedReader(strings.NewReader(body), StreamingSignedTrailer, s))
	if err != nil || string(got) != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	bad := strings.Replace(body, "NhCmhg==", "AAAAAA==", 1)
	if _, err := io.ReadAll(NewChunkedReader(strings.NewReader(bad), StreamingSignedTrailer, s)); err == nil {
		t.Fatal("tampered trailer accepted")
	}
}

// signChunks encodes chunks (and canonical trailers, "name:value\n" lines) as a
// signing client does.
func signChunks(s *ChunkSigning, chunks [][]byte, trailers string) (string, string) {
	var b strings.Builder
	prev := s.seed
	for _, c := range append(chunks, nil) {
		sum := sha256Sum(c)
		prev = s.ChunkSignature(prev, sum)
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), prev)
		if len(c) > 0 {
			b.Write(c)
			b.WriteString("\r\n")
		}
	}
	if trailers != "" {
		b.WriteString(strings.ReplaceAll(trailers, "\n", "\r\n"))
		b.WriteString("x-amz-trailer-signature:" + s.TrailerSignature(prev, trailers) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String(), prev
}

func FuzzChunkedReader(f *testing.F) {
	f.Add(docsBody("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"))
	f.Add("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n")
	f.Add("ffffffffffffffff\r\n")
	f.Fuzz(func(t *testing.T, body string) {
		for _, s := range []*ChunkSigning{nil, docsSigning} {
			r := NewChunkedReader(strings.NewReader(body), StreamingSigned, s)
			n, _ := io.Copy(io.Discard, r)
			if n > int64(len(body)) {
				t.Fatalf("decoded %d bytes from a %d-byte body", n, len(body))
			}
		}
	})
}

package s3

import (
	"crypto/sha1"
	"crypto/sha256"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"
)

// S3's additional checksums (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
var checksumAlgorithms = []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}

// crc64NVME is the CRC-64/NVME polynomial (reflected), which S3 uses by default.
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

func newChecksum(algo string) hash.Hash {
	switch algo {
	case "CRC32":
		return crc32.NewIEEE()
	case "CRC32C":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "CRC64NVME":
		return crc64.New(crc64NVME)
	case "SHA1":
		return sha1.New()
	case "SHA256":
		return sha256.New()
	}
	return nil
}

// checksumHeaderSuffix is the algorithm as it appears in the canonical header name
// X-Amz-Checksum-Crc32.
func checksumHeaderSuffix(algo string) string {
	return algo[:1] + strings.ToLower(algo[1:])
}

// checksumRequested finds the checksum a write asks S3 to verify: a value sent in an
// x-amz-checksum-* header, or an algorithm (x-amz-sdk-checksum-algorithm or
// x-amz-trailer) whose value follows in the aws-chunked trailer.
func checksumRequested(h http.Header) (algo, value string, err error) {
	for _, a := range checksumAlgorithms {
		if v := h.Get("X-Amz-Checksum-" + checksumHeaderSuffix(a)); v != "" {
			return a, v, nil
		}
	}
	if t := h.Get("X-Amz-Trailer"); t != "" {
		name := strings.ToLower(strings.TrimSpace(t))
		a, ok := strings.CutPrefix(name, "x-amz-checksum-")
		a = strings.ToUpper(a)
		if !ok || newChecksum(a) == nil {
			return "", "", errInvalidRequest("The value specified in the x-amz-trailer header is not supported")
		}
		return a, "", nil
	}
	if a := strings.ToUpper(h.Get("X-Amz-Sdk-Checksum-Algorithm")); a != "" {
		if newChecksum(a) == nil {
			return "", "", errInvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		return a, "", nil
	}
	return "", "", nil
}

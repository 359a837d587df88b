package e2e

import (
	"crypto/sha256"
	"encoding/base64"
)

func sha256b64(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

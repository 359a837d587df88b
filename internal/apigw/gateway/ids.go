package gateway

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/runtime"
)

// newIDs gives the exchange the ids API Gateway gives a request: a UUID request id and
// a short base64 extended request id for REST APIs ("TWegAcC4EowCHnA="), the short form
// alone for HTTP APIs ("LV7fzho-PHcEJPw="), and an X-Ray style trace id. They need to
// be unique, not secret, so they come from the runtime's fast per-thread generator.
func (g *Gateway) newIDs(x *exchange) {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	var short [11]byte
	binary.LittleEndian.PutUint64(short[:8], rand.Uint64())
	short[8], short[9], short[10] = b[3], b[7], b[11]
	if x.kind == compile.HTTP {
		x.requestID = base64.URLEncoding.EncodeToString(short[:])
		x.extendedID = x.requestID
	} else {
		x.requestID = uuidString(b)
		x.extendedID = base64.StdEncoding.EncodeToString(short[:])
	}
	// A client's X-Amzn-Trace-Id is propagated (its Root kept), as API Gateway
	// does; otherwise the request gets a new root.
	if t := runtime.CleanTraceID(x.r.Header.Get("X-Amzn-Trace-Id")); t != "" {
		x.traceID = t
		return
	}
	var tb [16]byte
	binary.LittleEndian.PutUint64(tb[4:12], rand.Uint64())
	binary.LittleEndian.PutUint32(tb[12:], rand.Uint32())
	x.traceID = traceID(x.now.Unix(), tb)
}

// uuidString formats 16 random bytes as a version 4 UUID.
func uuidString(b [16]byte) string {
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// traceID is "Root=1-{epoch seconds, 8 hex}-{96 random bits, 24 hex}".
func traceID(epoch int64, b [16]byte) string {
	buf := make([]byte, 0, 40)
	buf = append(buf, "Root=1-"...)
	ts := strconv.FormatInt(epoch, 16)
	for i := len(ts); i < 8; i++ {
		buf = append(buf, '0')
	}
	buf = append(buf, ts...)
	buf = append(buf, '-')
	buf = hex.AppendEncode(buf, b[4:16])
	return string(buf)
}

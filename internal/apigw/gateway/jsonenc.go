package gateway

import (
	"encoding/json"
	"strconv"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// The Lambda proxy events are built as aws-lambda-go's typed structs and written by the
// small encoders below rather than encoding/json: this is the hot path, and AWS's
// shapes need nulls (body, pathParameters, identity fields) and omissions the structs'
// tags cannot express. Output is valid JSON that decodes back into the same structs.

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte { return awsproto.AppendJSONString(b, s) }

// appendNullableString appends s, or null when s is empty.
func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

func appendKey(b []byte, k string) []byte {
	b = appendString(b, k)
	return append(b, ':')
}

// appendStringMap appends m as a JSON object, or null when m is nil.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	first := true
	for k, v := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendKey(b, k)
		b = appendString(b, v)
	}
	return append(b, '}')
}

// appendMultiMap appends m as a JSON object of string arrays, or null when m is nil.
func appendMultiMap(b []byte, m map[string][]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	first := true
	for k, vs := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendKey(b, k)
		b = append(b, '[')
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendAny appends v with encoding/json, for the rare free-form parts (authorizer
// context); null on failure.
func appendAny(b []byte, v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

// jsonQuote returns s as a JSON string literal.
func jsonQuote(s string) string { return string(appendString(nil, s)) }

package console

import (
	"math"
	"strconv"
	"time"
)

// ago says how long before now t was, to the second ("3m12s ago").
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t).Round(time.Second)
	if d < time.Second {
		return "just now"
	}
	return d.String() + " ago"
}

// formatMillis prints a duration in milliseconds with two decimals, as REPORT does.
func formatMillis(ms float64) string { return strconv.FormatFloat(ms, 'f', 2, 64) + " ms" }

// formatBytes prints a byte count (an int64 size or a float64 gauge) in binary
// units.
func formatBytes(v any) string {
	var n float64
	switch v := v.(type) {
	case int64:
		n = float64(v)
	case float64:
		n = v
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(n, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(n, 'f', 1, 64) + " " + units[i]
}

// barWidth scales v against top to an SVG bar of at most 120 units (at least 1
// when v is positive, so a small value still shows).
func barWidth(v, top float64) int {
	if v <= 0 || top <= 0 {
		return 0
	}
	return max(1, int(math.Round(v/top*120)))
}

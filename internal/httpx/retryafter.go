package httpx

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxDuration stands in for a Retry-After too large to represent; it is far above any
// MaxRetryAfter, so such a value is not waited for (the answer comes back at once) instead of
// overflowing.
const maxDuration = time.Duration(math.MaxInt64)

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDecimal(v) {
		// Graph sends fractional seconds ("2.128"); rounding up, never down, keeps the client
		// from arriving before the throttle window ends.
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false
		}
		secs := math.Ceil(f)
		if secs >= float64(math.MaxInt64/int64(time.Second)) {
			return maxDuration, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > maxDuration-time.Second {
		return maxDuration, true
	} else if d > 0 {
		// An HTTP date has whole-second precision; round up for the same reason as above.
		return (d + time.Second - 1).Truncate(time.Second), true
	}
	return 0, true
}

// isDecimal accepts delta-seconds (RFC 9110: 1*DIGIT) and the fractional form Graph uses,
// and nothing else that strconv.ParseFloat would take (signs, exponents, hex, Inf, NaN).
func isDecimal(v string) bool {
	digits, dot := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i < len(v)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

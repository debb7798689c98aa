package httpx

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoff is the wait before retry number retry (1 for the first) when the service named no
// Retry-After: exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff
// and Jitter"), a uniform draw from [0, min(maxWait, minWait*2^(retry-1))], so clients throttled
// together do not come back together. draw(n) returns a uniform value in [0, n), as
// math/rand/v2's Int64N does (nil means Int64N); it is a parameter so tests can fix the draw.
//
// It is the wait the Client uses between its own retries, exported for callers that retry
// above the HTTP level, like Graph's throttled $batch items.
func Backoff(retry int, minWait, maxWait time.Duration, draw func(n int64) int64) time.Duration {
	ceil := min(minWait, maxWait)
	if ceil <= 0 {
		return 0
	}
	for i := 1; i < retry && ceil < maxWait; i++ {
		if ceil > maxWait-ceil { // doubling passes maxWait (and might overflow)
			ceil = maxWait
			break
		}
		ceil *= 2
	}
	if draw == nil {
		draw = rand.Int64N
	}
	n := int64(ceil)
	if n < math.MaxInt64 {
		n++ // ceil itself is a possible wait
	}
	return time.Duration(draw(n))
}

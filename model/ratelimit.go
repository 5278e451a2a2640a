package model

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// retryHint is how long a server asks a client to wait before trying
// again, from the first of: Azure's retry-after-ms, Retry-After (seconds
// or an HTTP date), the words of the message ("Please try again in 20s",
// "retry after 20 seconds"), and OpenAI's x-ratelimit-reset-requests and
// x-ratelimit-reset-tokens (the longer). Zero when it does not say.
func retryHint(h http.Header, msg string, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if d := parseRetryAfter(h.Get("Retry-After"), now); d > 0 {
		return d
	}
	if d := waitInWords(msg); d > 0 {
		return d
	}
	var d time.Duration
	for _, k := range []string{"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"} {
		if v, err := parseResetDuration(h.Get(k)); err == nil {
			d = max(d, v)
		}
	}
	return d
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(max(0, secs) * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

// parseResetDuration reads OpenAI's reset headers: "1s", "6m0s", "20ms",
// or plain seconds.
func parseResetDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(secs * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}

var (
	// OpenAI: "Please try again in 20s." / "in 1.5s" / "in 6m0s" / "in 120ms".
	tryAgainGo = regexp.MustCompile(`(?i)try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)`)
	// Azure and others: "Please retry after 20 seconds", "try again in 3 minutes".
	tryAgainWords = regexp.MustCompile(`(?i)(?:try again|retry) (?:in|after) (\d+(?:\.\d+)?)\s*(milliseconds?|ms|seconds?|secs?|s|minutes?|mins?)\b`)
)

// waitInWords reads a wait named in an error message.
func waitInWords(msg string) time.Duration {
	if m := tryAgainGo.FindStringSubmatch(msg); m != nil {
		if d, err := time.ParseDuration(m[1]); err == nil {
			return d
		}
	}
	if m := tryAgainWords.FindStringSubmatch(msg); m != nil {
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0
		}
		unit := time.Second
		switch u := strings.ToLower(m[2]); {
		case strings.HasPrefix(u, "ms"), strings.HasPrefix(u, "milli"):
			unit = time.Millisecond
		case strings.HasPrefix(u, "m"):
			unit = time.Minute
		}
		return time.Duration(n * float64(unit))
	}
	return 0
}

package nebula

import (
	"errors"
	"testing"
	"time"
)

// TestRetryPolicy is the whole retry decision in one table: the call's
// safety and what one attempt got, against retry or not, how long to wait,
// and what the call learns about its outcome.
func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	errReset := errors.New("connection reset by peer")
	const (
		minW = 10 * time.Millisecond
		maxW = 80 * time.Millisecond
	)
	lim := retryLimits{maxRetries: 3, waitMin: minW, waitMax: maxW, timeLeft: -1}
	// draw returns the top of the range, so the table can name the ceiling.
	top := func(lo, hi time.Duration) time.Duration { return hi }

	type want struct {
		retry          bool
		wait           time.Duration
		mayHaveActed   bool
		outcomeUnknown bool
		gone           bool
		replay         bool
	}
	cases := []struct {
		name    string
		safety  safety
		o       attemptOutcome
		attempt int
		lim     *retryLimits
		want    want
	}{
		// Reads, deletes, renames, login: every transient failure.
		{"read 503", repeatable, attemptOutcome{status: 503}, 1, nil, want{retry: true, wait: 2 * minW}},
		{"read 500 failed envelope", repeatable, attemptOutcome{status: 500, failedEnvelope: true}, 1, nil, want{retry: true, wait: 2 * minW}},
		{"read 500 not an envelope", repeatable, attemptOutcome{status: 500}, 1, nil, want{retry: true, wait: 2 * minW, mayHaveActed: true}},
		{"read 502", repeatable, attemptOutcome{status: 502}, 1, nil, want{retry: true, wait: 2 * minW, mayHaveActed: true}},
		{"read 504", repeatable, attemptOutcome{status: 504}, 2, nil, want{retry: true, wait: 4 * minW, mayHaveActed: true}},
		{"read 408", repeatable, attemptOutcome{status: 408}, 1, nil, want{retry: true, wait: 2 * minW}},
		{"read 429", repeatable, attemptOutcome{status: 429}, 1, nil, want{retry: true, wait: 2 * minW}},
		{"read 404", repeatable, attemptOutcome{status: 404}, 1, nil, want{}},
		{"read 400", repeatable, attemptOutcome{status: 400}, 1, nil, want{}},
		{"read 401", repeatable, attemptOutcome{status: 401}, 1, nil, want{}},
		{"read 501", repeatable, attemptOutcome{status: 501}, 1, nil, want{}},
		{"read reset", repeatable, attemptOutcome{transportErr: errReset}, 1, nil, want{retry: true, wait: 2 * minW, mayHaveActed: true}},
		{"read never left", repeatable, attemptOutcome{transportErr: errReset, unsent: true}, 1, nil, want{retry: true, wait: 2 * minW}},
		{"read unusable 2xx", repeatable, attemptOutcome{status: 200, unusable: true}, 1, nil, want{mayHaveActed: true}},
		{"read TLS verification", repeatable, attemptOutcome{transportErr: errReset, unsent: true, permanent: true}, 1, nil, want{}},
		{"read caller gave up", repeatable, attemptOutcome{transportErr: errReset, callerGaveUp: true}, 1, nil, want{mayHaveActed: true}},

		// Creates: only what provably never left, and 429.
		{"create 429", sendOnce, attemptOutcome{status: 429}, 1, nil, want{retry: true, wait: 2 * minW}},
		{"create never left", sendOnce, attemptOutcome{transportErr: errReset, unsent: true}, 1, nil, want{retry: true, wait: 2 * minW}},
		{"create reset", sendOnce, attemptOutcome{transportErr: errReset}, 1, nil, want{mayHaveActed: true, outcomeUnknown: true}},
		{"create 502", sendOnce, attemptOutcome{status: 502}, 1, nil, want{mayHaveActed: true, outcomeUnknown: true}},
		{"create 504", sendOnce, attemptOutcome{status: 504}, 1, nil, want{mayHaveActed: true, outcomeUnknown: true}},
		{"create 500 not an envelope", sendOnce, attemptOutcome{status: 500}, 1, nil, want{mayHaveActed: true, outcomeUnknown: true}},
		{"create 500 failed envelope", sendOnce, attemptOutcome{status: 500, failedEnvelope: true}, 1, nil, want{}},
		{"create 503", sendOnce, attemptOutcome{status: 503}, 1, nil, want{}},
		{"create 408", sendOnce, attemptOutcome{status: 408}, 1, nil, want{}},
		{"create 409", sendOnce, attemptOutcome{status: 409}, 1, nil, want{}},
		{"create unusable 2xx", sendOnce, attemptOutcome{status: 201, unusable: true}, 1, nil, want{mayHaveActed: true, outcomeUnknown: true}},
		{"create caller gave up after sending", sendOnce, attemptOutcome{transportErr: errReset, callerGaveUp: true}, 1, nil, want{mayHaveActed: true, outcomeUnknown: true}},
		{"create caller gave up before sending", sendOnce, attemptOutcome{transportErr: errReset, unsent: true, callerGaveUp: true}, 1, nil, want{}},
		{"create TLS verification", sendOnce, attemptOutcome{transportErr: errReset, unsent: true, permanent: true}, 1, nil, want{}},

		// A delete's 404 after an attempt that may have acted: gone either
		// way, whichever attempt or replay meets it.
		{"delete 404 after lost answer", repeatable, attemptOutcome{status: 404, goneOK: true, actedBefore: true}, 2, nil, want{gone: true}},
		{"delete 404 first answer", repeatable, attemptOutcome{status: 404, goneOK: true}, 1, nil, want{}},
		{"read 404 after lost answer", repeatable, attemptOutcome{status: 404, actedBefore: true}, 2, nil, want{}},
		{"delete 404 failed envelope after lost answer", repeatable, attemptOutcome{status: 404, failedEnvelope: true, goneOK: true, actedBefore: true}, 1, nil, want{gone: true}},
		{"delete 410 after lost answer", repeatable, attemptOutcome{status: 410, goneOK: true, actedBefore: true}, 2, nil, want{}},

		// A 401: replayed once with a fresh credential, creates included
		// (the API did nothing); never twice, never without a new one.
		{"read 401 renewable", repeatable, attemptOutcome{status: 401, canReplay: true}, 1, nil, want{replay: true}},
		{"create 401 renewable", sendOnce, attemptOutcome{status: 401, canReplay: true}, 1, nil, want{replay: true}},
		{"delete 401 after lost answer", repeatable, attemptOutcome{status: 401, canReplay: true, goneOK: true, actedBefore: true}, 2, nil, want{replay: true}},
		{"401 already replayed", repeatable, attemptOutcome{status: 401}, 1, nil, want{}},
		{"403 renewable", repeatable, attemptOutcome{status: 403, canReplay: true}, 1, nil, want{}},
		{"transport error renewable", repeatable, attemptOutcome{transportErr: errReset, unsent: true, canReplay: true}, 1, nil, want{retry: true, wait: 2 * minW}},

		// Limits: retries left, backoff ceiling, Retry-After, deadline.
		{"last retry used", repeatable, attemptOutcome{status: 503}, 4, nil, want{}},
		{"third retry", repeatable, attemptOutcome{status: 503}, 3, nil, want{retry: true, wait: maxW}},
		{"no retries", repeatable, attemptOutcome{status: 503}, 1, &retryLimits{maxRetries: 0, waitMin: minW, waitMax: maxW, timeLeft: -1}, want{}},
		{"Retry-After longer than backoff", repeatable, attemptOutcome{status: 429, retryAfter: time.Second}, 1, nil, want{retry: true, wait: time.Second}},
		{"Retry-After shorter than backoff", repeatable, attemptOutcome{status: 429, retryAfter: time.Millisecond}, 1, nil, want{retry: true, wait: 2 * minW}},
		{"Retry-After a minute", sendOnce, attemptOutcome{status: 429, retryAfter: maxRetryAfter}, 1, nil, want{retry: true, wait: maxRetryAfter}},
		{"Retry-After too long", sendOnce, attemptOutcome{status: 429, retryAfter: maxRetryAfter + time.Second}, 1, nil, want{}},
		{"wait past deadline", repeatable, attemptOutcome{status: 503}, 1, &retryLimits{maxRetries: 3, waitMin: minW, waitMax: maxW, timeLeft: minW}, want{}},
		{"wait within deadline", repeatable, attemptOutcome{status: 503}, 1, &retryLimits{maxRetries: 3, waitMin: minW, waitMax: maxW, timeLeft: 2 * minW}, want{retry: true, wait: 2 * minW}},
		{"Retry-After past deadline", repeatable, attemptOutcome{status: 429, retryAfter: time.Second}, 1, &retryLimits{maxRetries: 3, waitMin: minW, waitMax: maxW, timeLeft: 500 * time.Millisecond}, want{}},
	}
	for _, c := range cases {
		l := lim
		if c.lim != nil {
			l = *c.lim
		}
		d := retryPolicy(c.safety, c.o, c.attempt, l, top)
		got := want(d)
		if !got.retry {
			got.wait = 0
		}
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestRetryPolicyDrawsFromTheBackoffRange checks the range handed to draw:
// [min, min(max, min·2^(n+1))] for retry n, jittered from the first retry.
func TestRetryPolicyDrawsFromTheBackoffRange(t *testing.T) {
	t.Parallel()
	lim := retryLimits{maxRetries: 10, waitMin: 10 * time.Millisecond, waitMax: 100 * time.Millisecond, timeLeft: -1}
	for attempt, ceiling := range map[int]time.Duration{1: 20, 2: 40, 3: 80, 4: 100, 9: 100} {
		var lo, hi time.Duration
		retryPolicy(repeatable, attemptOutcome{status: 503}, attempt, lim, func(l, h time.Duration) time.Duration {
			lo, hi = l, h
			return l
		})
		if lo != lim.waitMin || hi != ceiling*time.Millisecond {
			t.Errorf("retry %d: drew from [%v, %v], want [%v, %v]", attempt-1, lo, hi, lim.waitMin, ceiling*time.Millisecond)
		}
	}
}

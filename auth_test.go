package nebula

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testPassword = "p@ss word&=+/ü"

// makeJWT returns an unsigned-looking JWT whose payload is claims.
func makeJWT(claims string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims)) + ".c2lnbmF0dXJl"
}

func loginAnswer(jwt string) answer {
	return ok(`{"data":{"id":18,"name":"Test User","email":"t@example.com","is_staff":false,"is_active":true,"jwtToken":"` +
		jwt + `"},"message":"Login successful","status":"success"}`)
}

func TestLoginSendsFormAndDecodesDocsExample(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("POST", "/login", ok(docsLogin))
	sess, err := e.client.Auth.Login(bg, "testemail@gmail.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	r := rec.all()[0]
	if r.Header.Get("Authorization") != "" {
		t.Error("login sent an Authorization header")
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", ct)
	}
	form, err := url.ParseQuery(r.Body)
	if err != nil || form.Get("username") != "testemail@gmail.com" || form.Get("password") != testPassword || len(form) != 2 {
		t.Errorf("form %q (%v)", r.Body, err)
	}
	want := Session{UserID: "18", Name: "Test User", Email: "testemail@gmail.com", ExpiresAt: time.Unix(1730758636, 0).UTC()}
	if sess.UserID != want.UserID || sess.Name != want.Name || sess.Email != want.Email || !sess.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("session %+v", sess)
	}
	if sess.Token.Reveal() != docsLoginJWT {
		t.Error("token not decoded")
	}
	if p := fmt.Sprintf("%+v %#v", sess, sess); strings.Contains(p, docsLoginJWT[40:]) {
		t.Errorf("session print leaks the JWT: %s", p)
	}
}

func TestJWTExpiry(t *testing.T) {
	t.Parallel()
	cases := map[string]time.Time{
		makeJWT(`{"exp":1730758636}`):   time.Unix(1730758636, 0).UTC(),
		makeJWT(`{"exp":1730758636.5}`): time.Unix(1730758636, 5e8).UTC(),
		makeJWT(`{"sub":"x"}`):          {},
		makeJWT(`{"exp":"soon"}`):       {},
		makeJWT(`{"exp":-5}`):           {},
		makeJWT(`{"exp":0}`):            {},
		makeJWT(`{"exp":8589934588}`):   time.Unix(8589934588, 0).UTC(), // the largest accepted: MaxInt32*4
		makeJWT(`{"exp":8589934589}`):   {},
		makeJWT(`not json`):             {},
		"a.b":                           {},
		"a.!!!.c":                       {},
		"":                              {},
		strings.TrimSuffix(makeJWT(`{"exp":1}`), "=="): time.Unix(1, 0).UTC(),
	}
	for jwt, want := range cases {
		if got := jwtExpiry(jwt); !got.Equal(want) {
			t.Errorf("jwtExpiry(%q) = %v, want %v", jwt, got, want)
		}
	}
	padded := strings.Split(makeJWT(`{"exp":1730758636}`), ".")
	padded[1] += strings.Repeat("=", (4-len(padded[1])%4)%4)
	if got := jwtExpiry(strings.Join(padded, ".")); got.Unix() != 1730758636 {
		t.Errorf("padded payload: %v", got)
	}
}

func TestLoginRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		answer  answer
		refused bool
	}{
		{status(401, failedEnvelope("Invalid username or password")), true},
		{status(403, failedEnvelope("Account disabled")), true},
		{status(400, failedEnvelope("Invalid credentials for "+testPassword)), true},
		{ok(failedEnvelope("Wrong password " + testPassword)), true},
		{status(401, `{"detail":"Incorrect password: `+url.QueryEscape(testPassword)+`"}`), true},
		{status(429, failedEnvelope("slow down")), false},
		{status(500, failedEnvelope("db down")), false},
	}
	for _, c := range cases {
		e := newTestEnv(t, WithMaxRetries(0))
		e.reply("POST", "/login", c.answer)
		sess, err := e.client.Auth.Login(bg, "u@example.com", testPassword)
		if sess != nil || err == nil {
			t.Fatalf("%d: session %v", c.answer.status, sess)
		}
		if errors.Is(err, ErrUnauthorized) != c.refused {
			t.Errorf("%d %s: ErrUnauthorized = %v", c.answer.status, c.answer.body, !c.refused)
		}
		if msg := err.Error(); strings.Contains(msg, testPassword) || strings.Contains(msg, url.QueryEscape(testPassword)) {
			t.Errorf("error carries the password: %s", msg)
		}
	}
}

func TestLoginWithoutJWTIsUnexpected(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("POST", "/login", ok(`{"data":{"id":18},"message":"ok","status":"success"}`))
	if _, err := e.client.Auth.Login(bg, "u", "p"); !errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("err %v", err)
	}
}

// loginEnv is a client with WithLogin whose login route hands out JWTs that
// expire after lifetime.
type loginEnv struct {
	*testEnv
	logins *recorder
	issued atomic.Int64
	// issuedAt is when the last JWT was made (Unix nanoseconds): the
	// clock its exp counts from.
	issuedAt atomic.Int64
}

func newLoginEnv(t *testing.T, lifetime time.Duration, loginDelay time.Duration) *loginEnv {
	e := &loginEnv{testEnv: newTestEnv(t, WithLogin("u@example.com", testPassword))}
	e.logins = &recorder{}
	e.mock.RegisterResponder("POST", testBase+"/login", func(req *http.Request) (*http.Response, error) {
		e.logins.add(req)
		time.Sleep(loginDelay)
		n := e.issued.Add(1)
		now := time.Now()
		e.issuedAt.Store(now.UnixNano())
		jwt := makeJWT(fmt.Sprintf(`{"sub":"u","n":%d,"exp":%d}`, n, now.Add(lifetime).Unix()))
		return loginAnswer(jwt).response(req)
	})
	return e
}

func TestWithLoginLogsInLazilyAndCaches(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, 2*time.Hour, 0)
	lists := e.reply("GET", "/api_keys", ok(docsList))
	if e.logins.count() != 0 {
		t.Fatal("logged in before the first call")
	}
	for range 3 {
		if _, err := e.client.APIKeys.List(bg); err != nil {
			t.Fatal(err)
		}
	}
	if e.logins.count() != 1 || lists.count() != 3 {
		t.Fatalf("%d logins for %d calls", e.logins.count(), lists.count())
	}
	auth := lists.all()[2].Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer eyJ") {
		t.Fatalf("Authorization %q", auth)
	}
}

func TestWithLoginRefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()
	// The JWT is replaced once less than a minute is left, or a fifth of
	// its lifetime when that is shorter.
	for _, c := range []struct {
		lifetime, margin time.Duration
	}{
		{2 * time.Hour, time.Minute},
		{90 * time.Second, 18 * time.Second},
		{5 * time.Second, time.Second},
	} {
		t.Run(c.lifetime.String(), func(t *testing.T) {
			t.Parallel()
			e := newLoginEnv(t, c.lifetime, 0)
			lists := e.reply("GET", "/api_keys", ok(docsList))
			// Once a JWT is issued, the client's clock is its issue time
			// plus offset, not the wall clock plus offset: the time the
			// calls took counted as time passed, and a stall of a second
			// or two under load refreshed the JWT at "margin+2s left".
			var offset atomic.Int64
			e.client.cred.login.now = func() time.Time {
				at := time.Now() // before the first login
				if n := e.issuedAt.Load(); n != 0 {
					at = time.Unix(0, n)
				}
				return at.Add(time.Duration(offset.Load()))
			}
			list := func() {
				t.Helper()
				if _, err := e.client.APIKeys.List(bg); err != nil {
					t.Fatal(err)
				}
			}

			list()
			// The fake's JWT carries whole seconds: keep well clear of them.
			offset.Store(int64(c.lifetime - c.margin - 2*time.Second))
			list()
			if e.logins.count() != 1 {
				t.Fatalf("%d logins with %v left", e.logins.count(), c.margin+2*time.Second)
			}
			offset.Store(int64(c.lifetime - c.margin + 2*time.Second/3))
			list()
			if e.logins.count() != 2 {
				t.Fatalf("%d logins with %v left", e.logins.count(), c.margin-2*time.Second/3)
			}
			reqs := lists.all()
			if a, b := reqs[1].Header.Get("Authorization"), reqs[2].Header.Get("Authorization"); a == b {
				t.Fatal("refreshed call used the old JWT")
			}
		})
	}
}

func TestWithLoginSingleFlight(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, 2*time.Hour, 50*time.Millisecond)
	e.reply("GET", "/api_keys", ok(docsList))
	var wg sync.WaitGroup
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.client.APIKeys.List(bg); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := e.logins.count(); n != 1 {
		t.Fatalf("%d logins for 24 concurrent calls", n)
	}
}

func TestWithLoginReplaysOnceAfter401(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, 2*time.Hour, 0)
	lists := e.reply("GET", "/api_keys", status(401, failedEnvelope("token revoked")), ok(docsList))
	if _, err := e.client.APIKeys.List(bg); err != nil {
		t.Fatal(err)
	}
	if e.logins.count() != 2 || lists.count() != 2 {
		t.Fatalf("%d logins, %d calls", e.logins.count(), lists.count())
	}
	reqs := lists.all()
	if reqs[0].Header.Get("Authorization") == reqs[1].Header.Get("Authorization") {
		t.Fatal("replay used the refused JWT")
	}
}

func TestWithLoginSecond401IsReturned(t *testing.T) {
	t.Parallel()
	e := newLoginEnv(t, 2*time.Hour, 0)
	creates := e.reply("POST", "/api-keys", status(401, failedEnvelope("no")))
	_, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if !errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err %v", err)
	}
	if e.logins.count() != 2 || creates.count() != 2 {
		t.Fatalf("%d logins, %d calls: want exactly one replay", e.logins.count(), creates.count())
	}
}

func TestWithLoginRefusedSendsNothingElse(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithLogin("u@example.com", testPassword))
	logins := e.reply("POST", "/login", status(401, failedEnvelope("Invalid username or password")))
	lists := e.reply("GET", "/api_keys", ok(docsList))
	_, err := e.client.APIKeys.List(bg)
	if !errors.Is(err, ErrUnauthorized) || lists.count() != 0 || logins.count() != 1 {
		t.Fatalf("err %v, %d logins, %d calls", err, logins.count(), lists.count())
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Fatalf("error carries the password: %v", err)
	}
}

// panicOnFirstLogin is an Observer with a bug: it panics at the start of
// the first login.
type panicOnFirstLogin struct{ panicked atomic.Bool }

func (o *panicOnFirstLogin) CallStart(ctx context.Context, info CallInfo) context.Context {
	if info.Operation == "Login" && !o.panicked.Swap(true) {
		panic("observer bug")
	}
	return ctx
}
func (o *panicOnFirstLogin) AttemptDone(context.Context, CallInfo, AttemptInfo) {}
func (o *panicOnFirstLogin) CallDone(context.Context, CallInfo, CallResult)     {}

// A panic during WithLogin's login (an Observer's, a log handler's) goes
// on to the caller, and the Client logs in again on the next call: the
// login stayed "in flight" for ever, and every later call waited for it
// until its context ended (for ever with context.Background()).
func TestWithLoginRecoversFromAPanicDuringLogin(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithLogin("u@example.com", testPassword), WithObserver(&panicOnFirstLogin{}))
	logins := &recorder{}
	e.mock.RegisterResponder("POST", testBase+"/login", func(req *http.Request) (*http.Response, error) {
		logins.add(req)
		return loginAnswer(makeJWT(fmt.Sprintf(`{"sub":"u","exp":%d}`, time.Now().Add(time.Hour).Unix()))).response(req)
	})
	lists := e.reply("GET", "/api_keys", ok(docsList))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the Observer's panic did not reach the caller")
			}
		}()
		e.client.APIKeys.List(bg)
	}()
	// Bounded, so that the test fails rather than hangs without the fix.
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	if _, err := e.client.APIKeys.List(ctx); err != nil {
		t.Fatalf("the call after the panic: %v", err)
	}
	if logins.count() != 1 || lists.count() != 1 {
		t.Errorf("%d logins and %d lists, want 1 and 1", logins.count(), lists.count())
	}
}

package nebula

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-querystring/query"
)

// TokenSource supplies the bearer token for each request, for credentials
// that change while the Client lives (see WithTokenSource). It must be safe
// for concurrent use. An error it returns fails the call, wrapped, before
// anything is sent.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// AuthService logs in with a username and password. Get it from
// Client.Auth.
type AuthService struct {
	client *Client
}

// Session is a successful login: the user and the JWT to authenticate with.
// Printing, logging or marshalling a Session shows Token redacted.
type Session struct {
	UserID    ID
	Name      string
	Email     string
	Token     Secret    // the JWT ("jwtToken"), for WithToken or an Authorization header
	ExpiresAt time.Time // the JWT's exp claim; zero when it has none
}

type loginForm struct {
	Username string `url:"username"`
	Password string `url:"password"`
}

type loginData struct {
	ID    *ID    `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	JWT   string `json:"jwtToken"`
}

func (d *loginData) validate() string {
	if d.JWT == "" {
		return `login answer without "jwtToken"`
	}
	return ""
}

// Login logs in through POST /login (form-encoded, without an Authorization
// header) and returns the session with its JWT, valid about two hours. The
// JWT's signature is not verified; its exp claim only sets ExpiresAt.
//
// Errors: ErrInvalidArgument (nil context, blank username, empty password;
// nothing is sent); a refused login (401, 403, or a "failed" envelope with a
// 2xx or 4xx status other than 429) is an *APIError matching
// ErrUnauthorized; otherwise the errors of any call. No error carries the
// password or the JWT.
func (s *AuthService) Login(ctx context.Context, username, password string, opts ...CallOption) (*Session, error) {
	if strings.TrimSpace(username) == "" || password == "" {
		return nil, refused(opts, invalidArgument("Auth.Login: username and password must not be empty"))
	}
	form, err := query.Values(loginForm{Username: username, Password: password})
	if err != nil {
		return nil, refused(opts, invalidArgument("Auth.Login: %v", err))
	}
	r := &request{
		name:    "Auth.Login",
		route:   "/login",
		opts:    opts,
		method:  http.MethodPost,
		path:    "/login",
		body:    []byte(form.Encode()),
		form:    true,
		noAuth:  true,
		safety:  repeatable, // a login only mints a JWT
		secrets: []string{password},
	}
	data, err := send[loginData](ctx, s.client, r)
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && loginRefused(apiErr) {
			apiErr.refused = true
		}
		return nil, err
	}
	sess := &Session{Name: data.Name, Email: data.Email, Token: NewSecret(data.JWT), ExpiresAt: jwtExpiry(data.JWT)}
	if data.ID != nil {
		sess.UserID = *data.ID
	}
	return sess, nil
}

// loginRefused tells a refused login from a failure to reach a verdict (a
// rate limit, a server error), which may well succeed later.
func loginRefused(e *APIError) bool {
	switch {
	case e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden:
		return true
	case e.Status == statusFailed:
		return e.HTTPStatus < 500 && e.HTTPStatus != http.StatusTooManyRequests
	}
	return false
}

// jwtExpiry reads the exp claim of a JWT without verifying it: the SDK only
// needs to know when to log in again. It is zero when there is none.
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 || exp > math.MaxInt32*4 {
		return time.Time{}
	}
	sec, frac := math.Modf(exp)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// refreshMargin is how long before its exp a cached JWT is replaced, unless
// a fifth of its lifetime is shorter: a JWT that lives a minute or less
// must not make every call log in.
const refreshMargin = time.Minute

// refreshAt is when a JWT obtained at got and expiring at exp is replaced.
func refreshAt(got, exp time.Time) time.Time {
	return exp.Add(-min(refreshMargin, max(exp.Sub(got)/5, 0)))
}

// loginSource is the TokenSource behind WithLogin: it logs in on first use,
// caches the JWT until refreshMargin before its expiry, and lets one login be
// in flight however many goroutines ask.
type loginSource struct {
	auth               *AuthService
	username, password string
	now                func() time.Time

	mu      sync.Mutex
	token   string
	refresh time.Time    // when to log in again; zero: never (no exp claim)
	flight  *loginFlight // the login in progress, if any
}

type loginFlight struct {
	done  chan struct{}
	token string
	err   error
}

func newLoginSource(auth *AuthService, username, password string) *loginSource {
	return &loginSource{auth: auth, username: username, password: password, now: time.Now}
}

// Token returns the cached JWT, or logs in. The goroutine that starts a
// login runs it with its own context; the others wait for it, and try again
// themselves if it ended only because its caller gave up.
func (l *loginSource) Token(ctx context.Context) (string, error) {
	for {
		l.mu.Lock()
		if l.token != "" && (l.refresh.IsZero() || l.now().Before(l.refresh)) {
			token := l.token
			l.mu.Unlock()
			return token, nil
		}
		f := l.flight
		if f == nil {
			f = &loginFlight{done: make(chan struct{})}
			l.flight = f
			l.mu.Unlock()
			l.run(ctx, f)
			return f.token, f.err
		}
		l.mu.Unlock()

		select {
		case <-f.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if f.err == nil {
			return f.token, nil
		}
		if !isContextError(f.err) || ctx.Err() != nil {
			return "", f.err
		}
	}
}

// errLoginPanicked is what the goroutines waiting for a login get when it
// panicked (an Observer's or a log handler's panic, which goes on to the
// caller that ran the login).
var errLoginPanicked = errors.New("nebula: the login this call waited for panicked")

func (l *loginSource) run(ctx context.Context, f *loginFlight) {
	got := l.now()
	var sess *Session
	err := errLoginPanicked // unless Login returns
	// Deferred, so that a panic in Login still ends the flight: the
	// waiters get errLoginPanicked and the next call logs in again, where
	// the Client would otherwise wait for this login for ever.
	defer func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if err == nil {
			l.token, l.refresh = sess.Token.Reveal(), time.Time{}
			if !sess.ExpiresAt.IsZero() {
				l.refresh = refreshAt(got, sess.ExpiresAt)
			}
			f.token = l.token
		}
		f.err = err
		l.flight = nil
		close(f.done)
	}()
	sess, err = l.auth.Login(ctx, l.username, l.password)
}

// invalidate drops the cached JWT after the API refused it, unless another
// goroutine has replaced it already.
func (l *loginSource) invalidate(token string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.token == token {
		l.token = ""
	}
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

package nebulatest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// user is an account that may log in with a password.
type user struct {
	id       int
	name     string
	email    string
	password string
}

func (s *Server) login(c *call) reply {
	username, password, ok := loginCredentials(c.r, c.body)
	if !ok {
		msg := "username and password are required, as a form: username=...&password=..."
		var v any
		if trimmed := bytes.TrimSpace(c.body); len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &v) != nil {
			msg += "; the body is JSON, and not valid JSON (" + describeJSONError(trimmed, json.Unmarshal(trimmed, &v)) + ")"
		}
		return fail(http.StatusUnprocessableEntity, msg)
	}
	u := s.cfg.users[username]
	if u == nil || !hmac.Equal([]byte(u.password), []byte(password)) {
		return fail(http.StatusUnauthorized, "Invalid username or password")
	}
	exp := time.Now().Add(s.cfg.jwtLifetime)
	token := s.signJWT(u.email, exp)
	s.mu.Lock()
	s.st.jwts[token] = exp
	s.mu.Unlock()
	return okLogin(u, token)
}

func okLogin(u *user, token string) reply {
	return ok(map[string]any{
		"id": u.id, "name": u.name, "email": u.email, "is_staff": false, "is_active": true, "jwtToken": token,
	}, "Login successful")
}

// loginCredentials reads the form the SDK sends and, as the docs' own
// example does, a JSON body.
func loginCredentials(r *http.Request, body []byte) (string, string, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var username, password string
	if ct == "application/json" || bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		var v struct{ Username, Password string }
		if json.Unmarshal(body, &v) != nil {
			return "", "", false
		}
		username, password = v.Username, v.Password
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", "", false
		}
		username, password = form.Get("username"), form.Get("password")
	}
	return username, password, username != "" && password != ""
}

// signJWT makes an HS256 JWT shaped like the real API's.
func (s *Server) signJWT(subject string, exp time.Time) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"sub": subject, "roles": []string{"USER"}, "exp": exp.Unix(), "scopes": []string{"USER"},
		"jti": randomToken(8), // two logins in one second still get distinct tokens
	})
	unsigned := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, s.cfg.jwtKey)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

// Package formfield replaces the values of named fields in request bodies
// sent as forms, urlencoded or multipart, read leniently: the request logs
// and cassettes of the fake and the checking proxy must hide a password
// even in a body a strict parser refuses (a raw '%' in a typed password),
// and in the multipart form a login endpoint may accept as well.
package formfield

import (
	"net/url"
	"regexp"
	"strings"
)

// Secret says whether the field name (as sent, unescaped) holds a secret,
// and what its value becomes.
type Secret func(name string) (replacement string, ok bool)

// Replace returns body with the value of every field secret picks replaced,
// in a urlencoded form and in the parts of a multipart form, and whether it
// replaced any. A body that is neither (JSON, text) comes back as it was.
func Replace(body string, secret Secret) (string, bool) {
	if partHeader.MatchString(body) {
		return replaceMultipart(body, secret)
	}
	trimmed := strings.TrimSpace(body)
	if trimmed == "" || strings.ContainsAny(trimmed[:1], "{[\"") || !strings.Contains(body, "=") {
		return body, false
	}
	return replaceURLEncoded(body, secret)
}

func replaceURLEncoded(body string, secret Secret) (string, bool) {
	fields := strings.Split(body, "&")
	changed := false
	for i, f := range fields {
		key, _, hasValue := strings.Cut(f, "=")
		name := key
		if u, err := url.QueryUnescape(key); err == nil {
			name = u
		}
		if repl, ok := secret(strings.TrimSpace(name)); hasValue && ok {
			fields[i] = key + "=" + url.QueryEscape(repl)
			changed = true
		}
	}
	return strings.Join(fields, "&"), changed
}

// partHeader is a multipart part's headers up to the blank line that ends
// them; group 1 is the field's name.
var partHeader = regexp.MustCompile(`(?i)content-disposition:[^\r\n]*?\bname="?([^";\r\n]*)"?[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n`)

func replaceMultipart(body string, secret Secret) (string, bool) {
	var b strings.Builder
	changed := false
	rest := body
	for {
		loc := partHeader.FindStringSubmatchIndex(rest)
		if loc == nil {
			b.WriteString(rest)
			return b.String(), changed
		}
		b.WriteString(rest[:loc[1]])
		repl, isSecret := secret(rest[loc[2]:loc[3]])
		rest = rest[loc[1]:]
		// The value runs to the next boundary line ("\r\n--"), or to the
		// end of a body cut short.
		end := strings.Index(rest, "\r\n--")
		if end < 0 {
			end = strings.Index(rest, "\n--")
		}
		if end < 0 {
			end = len(rest)
		}
		if isSecret {
			b.WriteString(repl)
			changed = true
		} else {
			b.WriteString(rest[:end])
		}
		rest = rest[end:]
	}
}

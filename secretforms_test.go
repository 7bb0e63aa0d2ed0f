package nebula

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"unicode/utf16"
)

// The tests write secrets in the escaped forms below, each whole, to check
// that redactSecrets (which matches any mixture of escapes) finds them.

// secretForms lists whole escaped forms a server may echo the secrets in: as they are,
// URL-escaped, JSON-escaped (Go's style, the plain style of FastAPI and
// JavaScript, and ASCII-only \u escapes in lower and upper case, as Python's
// json module writes them by default) and HTML-escaped.
// Secrets shorter than minSecretLen are left out: they would match ordinary
// words.
func secretForms(secrets []string) []string {
	if len(secrets) == 0 {
		return nil
	}
	var forms []string
	seen := map[string]bool{}
	add := func(f string) {
		if len(f) >= minSecretLen && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, s := range secrets {
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		if j, err := json.Marshal(s); err == nil {
			add(string(j[1 : len(j)-1]))
		}
		add(plainJSON.Replace(s))
		add(asciiJSON(s, "\\u%04x"))
		add(asciiJSON(s, "\\u%04X"))
		add(strings.ReplaceAll(asciiJSON(s, "\\u%04x"), "/", `\/`)) // PHP's json_encode
		add(html.EscapeString(s))
		for _, r := range htmlEscapers {
			add(r.Replace(s))
		}
	}
	// Longest first, so that a form never leaves part of a longer one.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return forms
}

// plainJSON escapes a JSON string body as most servers do (Python's json
// with ensure_ascii=False, as FastAPI answers; JavaScript's JSON.stringify):
// quotes, backslashes and controls only, where Go's json.Marshal also
// escapes '<', '>' and '&'. It is a secret's form only when the secret holds
// a quote or a backslash together with one of those (else another form is
// the same); controls do not occur in credentials.
var plainJSON = strings.NewReplacer(`"`, `\"`, `\`, `\\`)

// htmlEscapers write the apostrophe and quote as other HTML escapers do
// than Go's html.EscapeString (&#39; and &#34;): Python's (&#x27;), PHP's
// htmlspecialchars (&#039;) and HTML5's (&apos;), each with &quot;.
var htmlEscapers = [...]*strings.Replacer{
	strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;"),
	strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;"),
	strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;"),
}

// asciiJSON escapes s as a JSON string body that holds only ASCII, with
// format for each \u escape.
func asciiJSON(s, format string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r >= 0x7f:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, format, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

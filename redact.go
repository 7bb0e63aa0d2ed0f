package nebula

import (
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// knownSecrets are the secrets redactSecrets looks for: each once, longest
// first, so that a secret never leaves part of a longer one showing.
// Secrets shorter than minSecretLen are left out: they would match ordinary
// words.
func knownSecrets(secrets []string) []string {
	var known []string
	for _, s := range secrets {
		if len(s) >= minSecretLen && !slices.Contains(known, s) {
			known = append(known, s)
		}
	}
	if len(known) > 1 {
		slices.SortStableFunc(known, func(a, b string) int { return len(b) - len(a) })
	}
	return known
}

// redactSecrets replaces every known secret (from knownSecrets) in text,
// written as it is or escaped, then every "ak_" key value and every
// JWT-looking run.
func redactSecrets(text string, known []string) string {
	if len(known) > 0 {
		text = redactSpelled(text, known)
	}
	text = redactRuns(text, apiKeyPrefix, minKeyRun, "ak_[REDACTED]")
	return redactRuns(text, "eyJ", minJWTRun, "[REDACTED-JWT]")
}

// redactSpelled replaces each run of text that spells one of the known
// secrets by redactedText. A server may echo a secret escaped, wholly or in
// part, in any of the ways its language escapes text, so a secret is
// matched character by character, each written as itself or as any escape
// that decodes to it (see decodeEscape): URL escapes in either case, '+'
// for a space, JSON's \" \\ \/ and \u escapes (surrogate pairs included),
// JavaScript's \x escapes, and HTML's named, decimal and hexadecimal
// character references. A list of whole escaped forms missed mixtures
// (html/template's &#43; beside plain text, Python's quote keeping '/',
// lower-case %2f).
func redactSpelled(text string, known []string) string {
	var b strings.Builder
	last := 0 // text[last:i] is not yet written to b
	for i := 0; i < len(text); {
		n := 0
		for _, s := range known {
			if n = spelledAt(text[i:], s); n > 0 {
				break
			}
		}
		if n == 0 {
			i++
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(text))
		}
		b.WriteString(text[last:i])
		b.WriteString(redactedText)
		i += n
		last = i
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// spelledAt returns how many bytes at the start of t spell s, each of its
// characters written as itself or escaped, or 0 when t does not begin with
// s. Where a character can be read either way (a secret holding '%' against
// "%25"), both readings count.
func spelledAt(t, s string) int {
	// The usual case, without allocating: one reading, the character as it
	// is where it matches, else an escape. Only after a character that
	// could also be read as an escape is the search made over both
	// readings.
	p, j, forked := 0, 0, false
	for j < len(s) {
		if p < len(t) && t[p] == s[j] {
			if !forked && isEscapeStart(t[p]) {
				forked = true
			}
			p, j = p+1, j+1
			continue
		}
		dec, w := decodeEscape(t[p:])
		if w == 0 || !strings.HasPrefix(s[j:], dec) {
			if forked {
				return spelledAtEveryReading(t, s)
			}
			return 0
		}
		p, j = p+w, j+len(dec)
	}
	if forked {
		// Another reading may spell s over more of t (a secret of
		// backslashes against "\\\\"): the whole of it is redacted.
		return spelledAtEveryReading(t, s)
	}
	return p
}

// spelledAtEveryReading is spelledAt over every reading of t: reach[j] holds
// the ends in t of the readings that spell s[:j]. It returns the longest
// reading that spells s, or 0.
func spelledAtEveryReading(t, s string) int {
	reach := make([][]int, len(s)+1)
	reach[0] = []int{0}
	for j := 0; j < len(s); j++ {
		for _, p := range reach[j] {
			if p < len(t) && t[p] == s[j] && !slices.Contains(reach[j+1], p+1) {
				reach[j+1] = append(reach[j+1], p+1)
			}
			if dec, w := decodeEscape(t[p:]); w > 0 && strings.HasPrefix(s[j:], dec) {
				k := j + len(dec)
				if !slices.Contains(reach[k], p+w) {
					reach[k] = append(reach[k], p+w)
				}
			}
		}
	}
	end := 0
	for _, p := range reach[len(s)] {
		end = max(end, p)
	}
	return end
}

// isEscapeStart reports the bytes decodeEscape reads an escape from.
func isEscapeStart(c byte) bool { return c == '%' || c == '+' || c == '\\' || c == '&' }

// decodeEscape decodes the escape that t begins with: what it stands for,
// and its length in t; w is 0 when t does not begin with one. Every escape
// begins with a byte isEscapeStart reports (mayHoldSecret relies on it).
func decodeEscape(t string) (dec string, w int) {
	if t == "" {
		return "", 0
	}
	switch t[0] {
	case '%':
		if len(t) >= 3 {
			if hi, ok := hexDigit(t[1]); ok {
				if lo, ok := hexDigit(t[2]); ok {
					return string([]byte{hi<<4 | lo}), 3
				}
			}
		}
	case '+':
		return " ", 1
	case '\\':
		return decodeBackslash(t)
	case '&':
		return decodeReference(t)
	}
	return "", 0
}

// decodeBackslash decodes a JSON or JavaScript escape at the start of t.
func decodeBackslash(t string) (string, int) {
	if len(t) < 2 {
		return "", 0
	}
	switch t[1] {
	case '"', '\\', '/', '\'':
		return t[1:2], 2
	case 'b':
		return "\b", 2
	case 'f':
		return "\f", 2
	case 'n':
		return "\n", 2
	case 'r':
		return "\r", 2
	case 't':
		return "\t", 2
	case 'x':
		if r, ok := hexRune(t[2:], 2); ok {
			return string(r), 4
		}
	case 'u':
		r, ok := hexRune(t[2:], 4)
		if !ok {
			return "", 0
		}
		if utf16.IsSurrogate(r) {
			if len(t) < 12 || t[6] != '\\' || t[7] != 'u' {
				return "", 0
			}
			r2, ok := hexRune(t[8:], 4)
			if !ok {
				return "", 0
			}
			if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
				return "", 0
			}
			return string(r), 12
		}
		return string(r), 6
	}
	return "", 0
}

// htmlNamed are the named character references HTML escapers write for
// the characters they escape (Go's, Python's, PHP's, HTML5's).
var htmlNamed = map[string]string{"amp": "&", "lt": "<", "gt": ">", "quot": `"`, "apos": "'"}

// decodeReference decodes an HTML character reference at the start of t:
// "&amp;", "&#43;", "&#x2F;" (hex digits and the x in either case).
func decodeReference(t string) (string, int) {
	end := strings.IndexByte(t, ';')
	if end < 2 || end > 10 {
		return "", 0
	}
	ref := t[1:end]
	if ref[0] != '#' {
		if dec, ok := htmlNamed[strings.ToLower(ref)]; ok {
			return dec, end + 1
		}
		return "", 0
	}
	digits, base := ref[1:], 10
	if digits != "" && (digits[0] == 'x' || digits[0] == 'X') {
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return "", 0
	}
	var r rune
	for i := 0; i < len(digits); i++ {
		d, ok := hexDigit(digits[i])
		if !ok || int(d) >= base {
			return "", 0
		}
		r = r*rune(base) + rune(d)
	}
	if r > utf8.MaxRune || !utf8.ValidRune(r) {
		return "", 0
	}
	return string(r), end + 1
}

// hexRune reads n hex digits at the start of t.
func hexRune(t string, n int) (rune, bool) {
	if len(t) < n {
		return 0, false
	}
	var r rune
	for i := 0; i < n; i++ {
		d, ok := hexDigit(t[i])
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

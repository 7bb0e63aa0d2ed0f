package nebula

import (
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// knownSecrets are the secrets redactSecrets looks for, each once.
// Secrets shorter than minSecretLen are left out: they would match ordinary
// words. Their order does not matter: each run of text is redacted as far
// as any of them reaches from it.
func knownSecrets(secrets []string) []string {
	var known []string
	for _, s := range secrets {
		if len(s) >= minSecretLen && !slices.Contains(known, s) {
			known = append(known, s)
		}
	}
	return known
}

// redactSecrets replaces every known secret (from knownSecrets) in text,
// written as it is or escaped, then every "ak_" key value and every
// JWT-looking run.
func redactSecrets(text string, known []string) string {
	text = redactSpelled(text, known)
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
//
// A run spelling a secret that begins inside another's is redacted with
// it, so that the end of the longer never shows. The work is bounded
// (maxRedactSteps): past it, the rest of text is redacted whole, which a
// secret and a text both full of escape characters could otherwise make
// take minutes.
func redactSpelled(text string, known []string) string {
	out, _ := redactSpelledWithin(text, known, maxRedactSteps)
	return out
}

// maxRedactSteps bounds redactSpelled's work on one text: a few tens of
// milliseconds. An ordinary secret in a 64 KiB body takes a few hundred
// thousand steps.
const maxRedactSteps = 1 << 23

// redactSpelledWithin is redactSpelled with budget steps; exhausted says
// that the budget ran out and the rest of text was redacted whole.
func redactSpelledWithin(text string, known []string, budget int) (out string, exhausted bool) {
	var b strings.Builder
	last := 0 // text[last:i] is not yet written to b
	// spelled is the end of the longest run that spells a known secret
	// from i, 0 when none does, -1 when the budget ran out.
	spelled := func(i int) int {
		end := 0
		for _, s := range known {
			n := spelledAt(text[i:], s, &budget)
			if n < 0 {
				return -1
			}
			end = max(end, n)
		}
		if end == 0 {
			return 0
		}
		return i + end
	}
	for i := 0; i < len(text); {
		end := spelled(i)
		if end == 0 {
			i++
			continue
		}
		// Runs that begin inside this one extend it.
		for k := i + 1; k < end; k++ {
			e := spelled(k)
			if e < 0 {
				end = -1
				break
			}
			end = max(end, e)
		}
		b.WriteString(text[last:i])
		b.WriteString(redactedText)
		if end < 0 {
			return b.String(), true
		}
		i, last = end, end
	}
	if last == 0 {
		return text, false
	}
	b.WriteString(text[last:])
	return b.String(), false
}

// spelledAt returns how many bytes at the start of t spell s, each of its
// characters written as itself or escaped, the longest such run when
// there are several: 0 when t does not begin with s, -1 when budget (which
// it spends) ran out.
func spelledAt(t, s string, budget *int) int {
	// The usual case, without allocating: one reading, the character as it
	// is where it matches, else an escape. Only after a character that
	// could also be read as an escape (a secret holding '%' against "%25")
	// is the search made over every reading.
	p, j, forked := 0, 0, false
	for j < len(s) {
		if *budget--; *budget < 0 {
			return -1
		}
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
				return spelledAtEveryReading(t, s, budget)
			}
			return 0
		}
		p, j = p+w, j+len(dec)
	}
	if forked {
		// Another reading may spell s over more of t (a secret of
		// backslashes against "\\\\"): the whole of it is redacted.
		return spelledAtEveryReading(t, s, budget)
	}
	return p
}

// maxEscapeLen bounds the text one byte of a secret takes escaped: an
// HTML reference such as "&#00000043;" (decodeReference takes up to 11
// bytes) for one byte, "\uD83D\uDE00" (12) for four.
const maxEscapeLen = 11

// spelledAtEveryReading is spelledAt over every reading of t: it visits
// each state (how much of s is spelled, how far into t) once, in the order
// of s, and returns the furthest end of a reading that spells s, 0 when
// none does, -1 when budget ran out.
func spelledAtEveryReading(t, s string, budget *int) int {
	span := min(len(t), maxEscapeLen*len(s)) // every end lies in t[:span]
	width := span + 1
	words := ((len(s)+1)*width + 63) / 64
	if *budget -= words; *budget < 0 {
		return -1
	}
	visited := make([]uint64, words)
	at := make([][]int, len(s)+1) // at[j]: the ends in t of readings of s[:j]
	visit := func(j, p int) {
		if p > span {
			return
		}
		bit := j*width + p
		if visited[bit/64]&(1<<(bit%64)) == 0 {
			visited[bit/64] |= 1 << (bit % 64)
			at[j] = append(at[j], p)
		}
	}
	visit(0, 0)
	for j := 0; j < len(s); j++ {
		for _, p := range at[j] {
			if *budget--; *budget < 0 {
				return -1
			}
			if p < len(t) && t[p] == s[j] {
				visit(j+1, p+1)
			}
			if dec, w := decodeEscape(t[p:]); w > 0 && strings.HasPrefix(s[j:], dec) {
				visit(j+len(dec), p+w)
			}
		}
	}
	end := 0
	for _, p := range at[len(s)] {
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

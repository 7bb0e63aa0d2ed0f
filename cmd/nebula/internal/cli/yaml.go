package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The yaml output is written here, from the JSON document, rather than by a
// YAML library: the values are JSON's (objects, arrays, strings, numbers,
// booleans, null), so a small emitter suffices, and it keeps a YAML
// library's start-up work (regular expressions, tables) out of every run
// of nebula. The tests parse every yaml output with go.yaml.in/yaml/v3 and
// compare it with the json output.

// jsonToYAML writes the JSON document data as block-style YAML.
func jsonToYAML(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSON(dec)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	writeYAML(&b, v, 0, false)
	return b.Bytes(), nil
}

// member is one key of a JSON object, in the document's order.
type member struct {
	key   string
	value any
}

func readJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := []member{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				obj = append(obj, member{k.(string), v})
			}
			_, err := dec.Token()
			return obj, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	}
	return tok, nil
}

// writeYAML writes v at indent; inSeq says that v follows "- " on the
// current line.
func writeYAML(b *bytes.Buffer, v any, indent int, inSeq bool) {
	pad := strings.Repeat(" ", indent)
	switch t := v.(type) {
	case []member:
		if len(t) == 0 {
			b.WriteString("{}\n")
			return
		}
		for i, m := range t {
			if i > 0 || !inSeq {
				b.WriteString(pad)
			}
			b.WriteString(yamlScalar(m.key))
			b.WriteByte(':')
			writeValue(b, m.value, indent)
		}
	case []any:
		if len(t) == 0 {
			b.WriteString("[]\n")
			return
		}
		for i, item := range t {
			if i > 0 || !inSeq {
				b.WriteString(pad)
			}
			b.WriteString("- ")
			if isCollection(item) {
				writeYAML(b, item, indent+2, true)
			} else {
				b.WriteString(yamlValue(item))
				b.WriteByte('\n')
			}
		}
	default:
		b.WriteString(yamlValue(v))
		b.WriteByte('\n')
	}
}

// writeValue writes what follows "key:".
func writeValue(b *bytes.Buffer, v any, indent int) {
	switch t := v.(type) {
	case []member:
		if len(t) == 0 {
			b.WriteString(" {}\n")
			return
		}
		b.WriteByte('\n')
		writeYAML(b, t, indent+2, false)
	case []any:
		if len(t) == 0 {
			b.WriteString(" []\n")
			return
		}
		b.WriteByte('\n')
		writeYAML(b, t, indent+2, false)
	default:
		b.WriteByte(' ')
		b.WriteString(yamlValue(v))
		b.WriteByte('\n')
	}
}

func isCollection(v any) bool {
	switch t := v.(type) {
	case []member:
		return len(t) > 0
	case []any:
		return len(t) > 0
	}
	return false
}

func yamlValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case json.Number:
		return t.String()
	case string:
		return yamlScalar(t)
	case []member:
		return "{}"
	case []any:
		return "[]"
	}
	return fmt.Sprint(v)
}

// yamlScalar writes s plain when every YAML reader reads it back as that
// same string, else double-quoted.
func yamlScalar(s string) string {
	if plainSafe(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == utf8.RuneError:
			b.WriteString(`\uFFFD`)
		case r == ' ' || (r < utf8.RuneSelf && r > ' ' && r != 0x7f) || (r >= 0xa0 && unicode.IsPrint(r) && r != 0xfeff):
			b.WriteRune(r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// plainSafe says whether s can be written without quotes: printable, not
// starting or ending with a space or an indicator, holding no ": " or " #",
// and not a word or number that YAML 1.1 or 1.2 would read as something
// other than a string.
func plainSafe(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || s[len(s)-1] == ':' {
		return false
	}
	if strings.ContainsRune("-?:,[]{}#&*!|>'\"%@`=~<.+0123456789", rune(s[0])) {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError || r < ' ' || r == 0x7f || (r >= 0x80 && !unicode.IsPrint(r)) || r == 0xfeff {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "null", "true", "false", "yes", "no", "on", "off", "y", "n":
		return false
	}
	return true
}

package cli

import (
	"strings"
	"testing"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// FuzzYAMLScalar: whatever the string, a YAML reader reads back the same
// string, on one line.
func FuzzYAMLScalar(f *testing.F) {
	for _, s := range []string{
		"", " ", "a", "yes", "No", "ON", "off", "y", "N", "null", "Null", "~", "true", "False",
		"1", "-1", "+1", "1.5", ".5", "1e3", "0x1F", "0o17", "0b101", "1_000", "1:20", ".inf", "-.Inf", ".NaN",
		"2024-10-29", "2024-10-29T19:19:32Z", "2001-12-14 21:59:43.10 -5", "38.80.81.2",
		"-", "- a", "-a", "?", "? a", ":", "a:", "a: b", "a:b", "#x", "a #b", "a#b", "[x]", "{x}", "x]", ",",
		"&a", "*a", "!a", "!!str", "|", ">", "'", "\"", "%YAML", "@x", "`x", "=", "<<",
		" lead", "trail ", "a\tb", "a\nb", "\r", "\x00", "\x7f", "\u0085", "\u00a0", "\u2028", "\ufeff",
		"é", "日本", "😀", "a\\b", `\n`, "#NB-20241029181932-266", "ak_...Q8bN", "ssh-ed25519 AAAA c@d",
		"Ubuntu Server 22.04 LTS", "--- ", "...", "---",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		out := yamlScalar(s)
		if strings.ContainsAny(out, "\n\r") {
			t.Fatalf("%q written on more than one line: %q", s, out)
		}
		var got map[string]any
		if err := yaml.Unmarshal([]byte("k: "+out+"\n"), &got); err != nil {
			t.Fatalf("%q written as %q: %v", s, out, err)
		}
		if v, ok := got["k"].(string); !ok || v != s {
			t.Fatalf("%q written as %q reads back as %#v", s, out, got["k"])
		}
		if !utf8.ValidString(out) {
			t.Fatalf("%q written as invalid UTF-8", s)
		}
	})
}

// TestYAMLShapes: nesting, empty collections and scalars of every kind
// read back as the JSON they came from.
func TestYAMLShapes(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{}`, `[]`, `{"a":[]}`, `{"a":{}}`, `[{}]`, `[[]]`, `"x"`, `null`, `1.50`, `true`,
		`{"a":1,"b":"2","c":null,"d":false,"e":-0.5,"f":"yes"}`,
		`[{"a":1,"b":[1,2,{"c":"d"}]},{"e":{"f":{"g":[[],[1]]}}}]`,
		`{"list":[{"x":1},{"y":[{"z":"w"}]}],"obj":{"k":"v"}}`,
	} {
		out, err := jsonToYAML([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		sameDocument(t, doc, doc, string(out))
	}
}

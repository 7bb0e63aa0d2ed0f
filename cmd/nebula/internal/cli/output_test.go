package cli

import (
	"bytes"
	"testing"
)

func TestDisplayWidth(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int{
		"trainer": 7, "日本語-ノード": 13, "한국어": 6, "ｆｕｌｌ": 8, "e\u0301": 1, "a\u200bb": 2, "🚀x": 3, "🫠": 2, "\u2764\ufe0f": 1, "": 0,
	} {
		if got := displayWidth(s); got != want {
			t.Errorf("displayWidth(%q) = %d, want %d", s, got, want)
		}
	}
}

// A table lines up its columns when a cell holds wide characters: each
// column starts at the same terminal column on every line.
func TestTableAlignsWideCharacters(t *testing.T) {
	t.Parallel()
	type row struct{ name, status string }
	var out bytes.Buffer
	p := &printer[row]{w: &out, format: "table", cols: columns[row]{
		{"NAME", func(r row) string { return r.name }, true},
		{"STATUS", func(r row) string { return r.status }, true},
	}}
	if err := p.list([]row{{"trainer", "Running"}, {"日本語-ノード", "Running"}}, func(r row) any { return r }); err != nil {
		t.Fatal(err)
	}
	// "日本語-ノード" takes 13 columns: the second column starts at 16.
	want := "NAME            STATUS\ntrainer         Running\n日本語-ノード   Running\n"
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

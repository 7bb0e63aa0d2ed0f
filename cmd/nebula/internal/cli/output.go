package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
)

// column is one table column: its header and how a row shows in it. Only
// columns marked def show without --columns.
type column[T any] struct {
	name  string
	value func(T) string
	def   bool
}

type columns[T any] []column[T]

// printer writes results in the format the global flags chose. Make it
// before sending anything, so that a bad -o or --columns sends nothing.
type printer[T any] struct {
	w        io.Writer
	format   string
	cols     columns[T]
	noHeader bool
}

// mustShow refuses, as bad input, output that would leave out the column
// name (a created key's value, which the API shows once). JSON and YAML
// show every field.
func (p *printer[T]) mustShow(name string) error {
	if p.format != "table" {
		return nil
	}
	for _, c := range p.cols {
		if c.name == name {
			return nil
		}
	}
	return usagef("--columns must include %s: the API shows a new key's value only once; nothing was sent", strings.ToLower(name))
}

func newPrinter[T any](a *App, all columns[T]) (*printer[T], error) {
	p := &printer[T]{w: a.Out, format: strings.ToLower(a.global.output), noHeader: a.global.noHeader}
	switch p.format {
	case "table":
	case "json", "yaml":
		return p, nil
	default:
		return nil, usagef("unknown output format %q: use table, json or yaml", p.format)
	}
	if a.global.columns == "" {
		for _, c := range all {
			if c.def {
				p.cols = append(p.cols, c)
			}
		}
		return p, nil
	}
	for _, want := range strings.Split(a.global.columns, ",") {
		want = strings.TrimSpace(want)
		if want == "" {
			continue
		}
		found := false
		for _, c := range all {
			if columnKey(c.name) == columnKey(want) {
				p.cols, found = append(p.cols, c), true
				break
			}
		}
		if !found {
			var known []string
			for _, c := range all {
				known = append(known, strings.ToLower(c.name))
			}
			return nil, usagef("unknown column %q: use %s", want, strings.Join(known, ", "))
		}
	}
	if len(p.cols) == 0 {
		return nil, usagef("--columns names no column")
	}
	return p, nil
}

// columnKey folds a column name so that "public-ipv4", "PUBLIC_IPV4" and
// "publicipv4" match.
func columnKey(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(s)
}

// list writes rows: a table, or one JSON array or YAML sequence of views.
func (p *printer[T]) list(rows []T, view func(T) any) error {
	switch p.format {
	case "json", "yaml":
		views := make([]any, 0, len(rows))
		for _, r := range rows {
			views = append(views, view(r))
		}
		return p.document(views)
	}
	return p.table(rows)
}

// one writes a single result: a one-row table, or one JSON object or YAML
// mapping.
func (p *printer[T]) one(row T, view ...func(T) any) error {
	switch p.format {
	case "json", "yaml":
		if len(view) > 0 {
			return p.document(view[0](row))
		}
		return p.document(row)
	}
	return p.table([]T{row})
}

func (p *printer[T]) document(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if p.format == "json" {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	if p.format == "json" {
		_, err := p.w.Write(buf.Bytes())
		return err
	}
	out, err := jsonToYAML(buf.Bytes())
	if err != nil {
		return err
	}
	_, err = p.w.Write(out)
	return err
}

func (p *printer[T]) table(rows []T) error {
	cells := make([][]string, 0, len(rows)+1)
	if !p.noHeader {
		h := make([]string, len(p.cols))
		for i, c := range p.cols {
			h[i] = c.name
		}
		cells = append(cells, h)
	}
	for _, r := range rows {
		line := make([]string, len(p.cols))
		for i, c := range p.cols {
			line[i] = cleanCell(c.value(r))
		}
		cells = append(cells, line)
	}
	width := make([]int, len(p.cols))
	for _, line := range cells {
		for i, s := range line {
			width[i] = max(width[i], displayWidth(s))
		}
	}
	var b bytes.Buffer
	for _, line := range cells {
		for i, s := range line {
			if i == len(line)-1 {
				b.WriteString(s)
				break
			}
			b.WriteString(s)
			b.WriteString(strings.Repeat(" ", width[i]-displayWidth(s)+3))
		}
		b.WriteByte('\n')
	}
	_, err := p.w.Write(b.Bytes())
	return err
}

// displayWidth is how many terminal columns s takes, as near as a table
// needs: two for the wide characters of East Asian scripts (Unicode's East
// Asian Width W and F, in the blocks that hold them) and for the emoji of
// U+1F300–1F64F, 1F680–1F6FF and 1F900–1FAFF, none for combining marks and
// zero-width characters, one for the rest (some older symbols that
// terminals draw wide, ⚡ or ✅, and flags, are counted one). Counting
// characters shifted the columns after a name like "日本語-ノード".
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || r == 0x200b || r == 0x200c || r == 0x200d || r == 0xfeff || r >= 0xfe00 && r <= 0xfe0f:
		case isWide(r):
			n += 2
		default:
			n++
		}
	}
	return n
}

func isWide(r rune) bool {
	return r >= 0x1100 && r <= 0x115f || // Hangul Jamo
		r >= 0x2e80 && r <= 0x303e || // CJK radicals, Kangxi, CJK symbols and punctuation
		r >= 0x3041 && r <= 0x33ff || // kana, Bopomofo, compatibility Jamo, CJK compatibility
		r >= 0x3400 && r <= 0x4dbf || // CJK extension A
		r >= 0x4e00 && r <= 0x9fff || // CJK unified ideographs
		r >= 0xa000 && r <= 0xa4cf || // Yi
		r >= 0xac00 && r <= 0xd7a3 || // Hangul syllables
		r >= 0xf900 && r <= 0xfaff || // CJK compatibility ideographs
		r >= 0xfe30 && r <= 0xfe4f || // CJK compatibility forms
		r >= 0xff00 && r <= 0xff60 || // fullwidth forms
		r >= 0xffe0 && r <= 0xffe6 ||
		r >= 0x1f300 && r <= 0x1f64f || // pictographs, emoticons
		r >= 0x1f680 && r <= 0x1f6ff || // transport and map symbols
		r >= 0x1f900 && r <= 0x1faff || // supplemental pictographs, symbols and pictographs extended-A
		r >= 0x20000 && r <= 0x3fffd // CJK extensions B and beyond
}

// cleanCell keeps a cell on its line: a value the API sent with a line
// break or a control character would otherwise break the table (or, on a
// terminal, move the cursor).
func cleanCell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// Times: RFC 3339 in json and yaml, local and short in tables.

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

func (a *App) short(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(a.location()).Format("2006-01-02 15:04")
}

func itoa(n int) string { return fmt.Sprint(n) }

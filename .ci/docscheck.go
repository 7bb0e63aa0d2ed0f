//go:build ignore

// docscheck checks the Markdown of this repository (README.md,
// CONTRIBUTING.md, docs/*.md):
//
//	go run .ci/docscheck.go links      # relative links resolve, anchors exist
//	go run .ci/docscheck.go commands   # every shell command shown is run, or marked
//	go run .ci/docscheck.go selftest   # both checks catch what they must, on a temp dir
//
// .ci/linkcheck and .ci/doccommands are the wrappers .ci/run calls. The
// conventions are in CONTRIBUTING.md ("Documentation"). Standard library only,
// and outside every package (build tag ignore), so that it adds nothing to
// the module.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run .ci/docscheck.go links|commands|selftest")
		os.Exit(2)
	}
	var problems []string
	switch os.Args[1] {
	case "links":
		problems = checkLinks(".")
	case "commands":
		var notRun []string
		problems, notRun = checkCommands(".")
		for _, n := range notRun {
			fmt.Println("shown but not run by CI (allowed by .ci/doc-commands):", n)
		}
	case "selftest":
		problems = selftest()
	default:
		fmt.Fprintln(os.Stderr, "usage: go run .ci/docscheck.go links|commands|selftest")
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Printf("%s: %d problem(s)\n", os.Args[1], len(problems))
		os.Exit(1)
	}
	fmt.Printf("%s: ok\n", os.Args[1])
}

// markdownFiles are the files checked, relative to root, in a stable order.
func markdownFiles(root string) []string {
	files := []string{"README.md", "CONTRIBUTING.md"}
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	sort.Strings(docs)
	for _, d := range docs {
		rel, _ := filepath.Rel(root, d)
		files = append(files, filepath.ToSlash(rel))
	}
	var out []string
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// line is one line of a Markdown file outside or inside a fence.
type line struct {
	n       int    // 1-based
	text    string //
	fence   string // the info string of the fence it is in ("" outside, "-" for a bare fence)
	opening bool   // the fence's opening line
}

// lines splits a file into lines, each knowing the fence it is in.
func lines(text string) []line {
	var out []line
	fence, marker := "", ""
	for i, t := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(t, " ")
		if marker == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")) {
			marker = trimmed[:3]
			fence = strings.TrimSpace(strings.Trim(trimmed, "`~"))
			if f := strings.Fields(fence); len(f) > 0 {
				fence = f[0]
			} else {
				fence = "-"
			}
			out = append(out, line{n: i + 1, text: t, fence: fence, opening: true})
			continue
		}
		if marker != "" && strings.HasPrefix(trimmed, marker) && strings.Trim(trimmed, marker[:1]+" ") == "" {
			out = append(out, line{n: i + 1, text: t, fence: fence})
			fence, marker = "", ""
			continue
		}
		out = append(out, line{n: i + 1, text: t, fence: fence})
	}
	return out
}

var (
	headingRE  = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	htmlIDRE   = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	linkRE     = regexp.MustCompile(`\]\(([^)\s]*)(?:\s+"[^"]*")?\)`)
	refDefRE   = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(\S+)`)
	codeSpanRE = regexp.MustCompile("`+[^`]*`+")
	mdLinkRE   = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// slug is GitHub's anchor for a heading: the rendered text lower-cased,
// everything but letters, marks, digits, '_', '-' and spaces dropped,
// spaces made '-' (github-slugger).
func slug(heading string) string {
	text := mdLinkRE.ReplaceAllString(heading, "$1")
	text = strings.NewReplacer("`", "", "*", "").Replace(text)
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of a Markdown text: its headings' slugs (a
// repeated slug gets -1, -2, ...) and explicit <a id> / <a name> anchors.
func anchors(text string) map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, l := range lines(text) {
		if l.fence != "" {
			continue
		}
		for _, m := range htmlIDRE.FindAllStringSubmatch(l.text, -1) {
			out[m[1]] = true
		}
		m := headingRE.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		s := slug(m[2])
		if n, ok := seen[s]; ok {
			seen[s] = n + 1
			out[fmt.Sprintf("%s-%d", s, n+1)] = true
			continue
		}
		seen[s] = 0
		out[s] = true
	}
	return out
}

// checkLinks returns one problem per relative link of the Markdown files
// under root that does not resolve to a file, or names an anchor its
// Markdown target does not have.
func checkLinks(root string) []string {
	var problems []string
	cache := map[string]map[string]bool{}
	anchorsOf := func(path string) (map[string]bool, error) {
		if a, ok := cache[path]; ok {
			return a, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		cache[path] = anchors(string(b))
		return cache[path], nil
	}
	for _, f := range markdownFiles(root) {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, l := range lines(string(b)) {
			if l.fence != "" {
				continue
			}
			var targets []string
			text := codeSpanRE.ReplaceAllString(l.text, "")
			for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
				targets = append(targets, m[1])
			}
			if m := refDefRE.FindStringSubmatch(text); m != nil {
				targets = append(targets, m[1])
			}
			for _, t := range targets {
				t = strings.Trim(t, "<>")
				if t == "" || regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`).MatchString(t) {
					continue // an absolute URL (https:, mailto:): not ours to check
				}
				where := fmt.Sprintf("%s:%d: link %q", f, l.n, t)
				file, anchor, _ := strings.Cut(t, "#")
				target := filepath.Join(root, f) // a bare #anchor is in this file
				if file != "" {
					if strings.HasPrefix(file, "/") {
						problems = append(problems, where+": absolute path (GitHub resolves it from the site, not the repository)")
						continue
					}
					target = filepath.Join(root, filepath.Dir(f), filepath.FromSlash(file))
				}
				if _, err := os.Stat(target); err != nil {
					problems = append(problems, where+": no such file "+filepath.ToSlash(target))
					continue
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(target, ".md") {
					problems = append(problems, where+": an anchor into a file that is not Markdown")
					continue
				}
				a, err := anchorsOf(target)
				if err != nil {
					problems = append(problems, where+": "+err.Error())
					continue
				}
				if !a[anchor] {
					problems = append(problems, where+": no heading or <a id> gives the anchor #"+anchor+" in "+filepath.ToSlash(target))
				}
			}
		}
	}
	return problems
}

// needsAccount marks a command, or a whole block, that needs a Nebula
// account and so is not run by CI.
const needsAccount = "needs a Nebula account"

// shellFences are the info strings of blocks whose lines are all commands.
var shellFences = map[string]bool{"sh": true, "shell": true, "bash": true}

// command is a shell command shown in the docs.
type command struct {
	where string // file:line
	text  string // continuation lines joined, trailing comment removed
	mark  bool   // marked as needing an account
}

// stripComment removes a trailing " # comment" outside quotes, and reports
// the comment.
func stripComment(s string) (cmd, comment string) {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return strings.TrimSpace(s[:i]), s[i:]
		}
	}
	return strings.TrimSpace(s), ""
}

// commands returns the commands shown in a Markdown text: every line of a
// sh, shell or bash block, and the lines after a "$ " prompt in any other
// block (a transcript). A bash block whose first line is "# excerpt of PATH"
// is not a list of commands but a quotation of that file; it is returned
// in excerpts instead.
func commands(file, text string) (cmds []command, excerpts map[string][]string, problems []string) {
	excerpts = map[string][]string{}
	ls := lines(text)
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		if !l.opening {
			continue
		}
		// The block is ls[i+1 : j].
		j := i + 1
		for j < len(ls) && ls[j].fence != "" && !ls[j].opening {
			j++
		}
		if j > i+1 && ls[j-1].text != "" && strings.Trim(strings.TrimSpace(ls[j-1].text), "`~") == "" {
			j-- // the closing fence
		}
		block := ls[i+1 : j]
		i = j
		if len(block) > 0 && shellFences[l.fence] {
			if path, ok := strings.CutPrefix(strings.TrimSpace(block[0].text), "# excerpt of "); ok {
				key := fmt.Sprintf("%s:%d %s", file, block[0].n, path)
				for _, b := range block[1:] {
					excerpts[key] = append(excerpts[key], b.text)
				}
				continue
			}
		}
		blockMarked := false
		for _, b := range block {
			if strings.HasPrefix(strings.TrimSpace(b.text), "# "+needsAccount) {
				blockMarked = true
			}
		}
		var pending *command
		dir := "" // after a "cd X" line: "cd X && "
		for _, b := range block {
			raw := b.text
			if !shellFences[l.fence] {
				rest, ok := strings.CutPrefix(raw, "$ ")
				if !ok && pending == nil {
					continue
				}
				if ok {
					raw = rest
				}
			}
			cmdText, comment := stripComment(raw)
			if pending == nil {
				if cmdText == "" {
					continue
				}
				pending = &command{where: fmt.Sprintf("%s:%d", file, b.n), mark: blockMarked}
			}
			if strings.Contains(comment, needsAccount) {
				pending.mark = true
			}
			cont := strings.HasSuffix(cmdText, `\`)
			cmdText = strings.TrimSpace(strings.TrimSuffix(cmdText, `\`))
			if pending.text != "" && cmdText != "" {
				pending.text += " "
			}
			pending.text += cmdText
			if !cont {
				switch {
				case strings.HasPrefix(pending.text, "cd ") && !strings.ContainsAny(pending.text, "&;|"):
					dir = pending.text + " && " // not a command: where the next ones run
				default:
					pending.text = dir + pending.text
					cmds = append(cmds, *pending)
				}
				pending = nil
			}
		}
		if pending != nil {
			problems = append(problems, pending.where+": a command ends in a line continuation")
		}
	}
	return cmds, excerpts, problems
}

// ciCommands are the commands of .ci/run: each line, and each part of it
// between "&&", ";" and parentheses.
func ciCommands(run string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(run, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out[l] = true
		out[strings.TrimSpace(strings.Trim(l, "()"))] = true
		dir := "" // "cd X && " when the line starts in another directory
		for i, part := range regexp.MustCompile(`&&|;`).Split(l, -1) {
			part = strings.TrimSpace(strings.Trim(strings.TrimSpace(part), "()"))
			if part == "" {
				continue
			}
			out[part] = true
			if i == 0 && strings.HasPrefix(part, "cd ") {
				dir = part + " && "
			} else if dir != "" {
				out[dir+part] = true
			}
		}
	}
	return out
}

var funcRE = regexp.MustCompile(`^func (\w+)\(`)

// hasFunc reports whether a _test.go file in dir declares func name.
func hasFunc(dir, name string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := bufio.NewScanner(strings.NewReader(string(b)))
		for s.Scan() {
			if m := funcRE.FindStringSubmatch(s.Text()); m != nil && m[1] == name {
				return true
			}
		}
	}
	return false
}

// checkCommands returns one problem per shell command of the Markdown files
// under root that is neither a command of .ci/run, nor marked as needing an
// account, nor in .ci/doc-commands with a runner that exists; and per
// excerpt that is not in the file it names. notRun lists the commands the
// allowlist says CI does not run.
func checkCommands(root string) (problems, notRun []string) {
	runText, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		return []string{err.Error()}, nil
	}
	ci := ciCommands(string(runText))
	allow := map[string]string{}
	used := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(root, ".ci", "doc-commands")); err == nil {
		for i, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
				continue
			}
			cmd, runner, ok := strings.Cut(l, "\t")
			if !ok {
				problems = append(problems, fmt.Sprintf(".ci/doc-commands:%d: no tab between the command and what runs it", i+1))
				continue
			}
			cmd, runner = strings.TrimSpace(cmd), strings.TrimSpace(runner)
			if p := checkRunner(root, string(runText), runner); p != "" {
				problems = append(problems, fmt.Sprintf(".ci/doc-commands:%d: %s", i+1, p))
			}
			allow[cmd] = runner
		}
	}
	for _, f := range markdownFiles(root) {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		cmds, excerpts, ps := commands(f, string(b))
		problems = append(problems, ps...)
		for _, c := range cmds {
			switch runner, listed := allow[c.text]; {
			case c.mark:
			case listed:
				used[c.text] = true
				if strings.HasPrefix(runner, "not run:") || strings.HasPrefix(runner, "benchmark ") {
					notRun = append(notRun, fmt.Sprintf("%s: %s (%s)", c.where, c.text, runner))
				}
			case ci[c.text]:
			default:
				problems = append(problems, fmt.Sprintf("%s: command %q is not run by .ci/run, not in .ci/doc-commands, and not marked %q", c.where, c.text, "# "+needsAccount))
			}
		}
		for key, want := range excerpts {
			where, path, _ := strings.Cut(key, " ")
			src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
			if err != nil {
				problems = append(problems, where+": excerpt of "+path+": "+err.Error())
				continue
			}
			if !isExcerpt(string(src), want) {
				problems = append(problems, where+": the block is not an excerpt of "+path+" (its lines, in order)")
			}
		}
	}
	for cmd := range allow {
		if !used[cmd] {
			problems = append(problems, fmt.Sprintf(".ci/doc-commands: %q is shown nowhere: remove it", cmd))
		}
	}
	sort.Strings(problems)
	return problems, notRun
}

// checkRunner checks an allowlist entry's runner: ".ci/run: TEXT" (TEXT is
// in .ci/run), "test NAME DIR" or "benchmark NAME DIR" (DIR has a _test.go
// declaring NAME), or "not run: REASON".
func checkRunner(root, run, runner string) string {
	switch {
	case strings.HasPrefix(runner, ".ci/run: "):
		if !strings.Contains(run, strings.TrimPrefix(runner, ".ci/run: ")) {
			return fmt.Sprintf("%q is not in .ci/run", strings.TrimPrefix(runner, ".ci/run: "))
		}
	case strings.HasPrefix(runner, "test "), strings.HasPrefix(runner, "benchmark "):
		f := strings.Fields(runner)
		if len(f) < 3 {
			return fmt.Sprintf("%q: want \"test NAME DIR\" or \"benchmark NAME DIR\"", runner)
		}
		if !hasFunc(filepath.Join(root, filepath.FromSlash(f[2])), f[1]) {
			return fmt.Sprintf("no func %s in %s/*_test.go", f[1], f[2])
		}
	case strings.HasPrefix(runner, "not run: ") && len(runner) > len("not run: "):
	default:
		return fmt.Sprintf("%q: want \".ci/run: TEXT\", \"test NAME DIR\", \"benchmark NAME DIR\" or \"not run: REASON\"", runner)
	}
	return ""
}

// isExcerpt reports whether want's non-blank lines occur in src in order,
// consecutive apart from blank lines and lines of src that want leaves out
// only if they are comments.
func isExcerpt(src string, want []string) bool {
	var w []string
	for _, l := range want {
		if strings.TrimSpace(l) != "" {
			w = append(w, strings.TrimRight(l, " "))
		}
	}
	if len(w) == 0 {
		return false
	}
	srcLines := strings.Split(src, "\n")
	for start := range srcLines {
		i, k := start, 0
		for i < len(srcLines) && k < len(w) {
			s := strings.TrimRight(srcLines[i], " ")
			switch {
			case s == w[k]:
				k++
			case strings.TrimSpace(s) == "" || strings.HasPrefix(strings.TrimSpace(s), "#"):
			default:
				i = len(srcLines) // mismatch
				continue
			}
			i++
		}
		if k == len(w) {
			return true
		}
	}
	return false
}

// selftest builds a repository in a temporary directory with known good and
// broken links and commands, and checks that exactly the broken ones are
// reported.
func selftest() []string {
	dir, err := os.MkdirTemp("", "docscheck-")
	if err != nil {
		return []string{err.Error()}
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		".ci/run": "go vet ./...\n(cd sub && go test -race ./...)\n",
		".ci/doc-commands": "# command<TAB>runner\n" +
			"go run ./tool\ttest TestTool tool\n" +
			"go get example.com/x\tnot run: needs the published module\n",
		"tool/tool_test.go": "package tool\n\nfunc TestTool(t *testing.T) {}\n",
		"script.sh":         "#!/bin/sh\nset -e\n# a comment the excerpt leaves out\necho one\necho two\n",
		"README.md": "# Title\n\n## Options for one call\n\n## `Wait` and Lookup!\n\n## Dup\n\n## Dup\n\n<a id=\"custom\"></a>\n\n" +
			"[ok](#title) [ok](#options-for-one-call) [ok](#wait-and-lookup) [ok](#dup-1) [ok](#custom)\n" +
			"[ok](docs/guide.md) [ok](docs/guide.md#über-straße) [ok](https://example.com/#nothing) [ok](LICENSE)\n" +
			"`[not a link](nowhere.md)`\n" +
			"[broken-file](docs/missing.md)\n" +
			"[broken-anchor](#dup-2)\n" +
			"[broken-other](docs/guide.md#absent)\n\n" +
			"```sh\ncd sub\ngo test -race ./...\n```\n\n```sh\ngo vet ./...\ncd sub && go test -race ./...\ngo test -race \\\n    ./...\ngo run ./tool\ngo get example.com/x   # install\n" +
			"curl https://api.example.com   # " + needsAccount + "\nrm -rf /tmp/unlisted\n```\n\n" +
			"```sh\n# " + needsAccount + "\nNEBULA_API_KEY=x go test .\n```\n\n" +
			"```\n$ go vet ./...\nsome output\n$ go run ./unlisted\n```\n\n" +
			"```go\nrm -rf /not/a/command\n```\n\n" +
			"```bash\n# excerpt of script.sh\nset -e\necho one\necho two\n```\n\n" +
			"```bash\n# excerpt of script.sh\necho two\necho one\n```\n",
		"CONTRIBUTING.md": "[ok](README.md#dup) [broken](README.md#nope)\n",
		"LICENSE":         "MIT\n",
		"docs/guide.md":   "# Über Straße\n\n[ok](../README.md#title) [broken](../docs/guide.md#title)\n```sh\n```\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return []string{err.Error()}
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return []string{err.Error()}
		}
	}
	var problems []string
	expect := func(check string, got []string, want ...string) {
		for _, w := range want {
			found := false
			for _, g := range got {
				if strings.Contains(g, w) {
					found = true
				}
			}
			if !found {
				problems = append(problems, fmt.Sprintf("selftest: %s did not report %q; it reported %q", check, w, got))
			}
		}
		if len(got) != len(want) {
			problems = append(problems, fmt.Sprintf("selftest: %s reported %d problems, want %d: %q", check, len(got), len(want), got))
		}
	}
	expect("links", checkLinks(dir),
		`"docs/missing.md"`, `"#dup-2"`, `"docs/guide.md#absent"`, `"README.md#nope"`, `"../docs/guide.md#title"`)
	cmdProblems, notRun := checkCommands(dir)
	expect("commands", cmdProblems,
		`"rm -rf /tmp/unlisted"`, `"go run ./unlisted"`, "the block is not an excerpt of script.sh")
	expect("commands (not run)", notRun, `go get example.com/x`)
	if s := slug("Create: safety, and recovery with `Lookup`"); s != "create-safety-and-recovery-with-lookup" {
		problems = append(problems, "selftest: slug gave "+s)
	}
	if s := slug("The fake as a program: `cmd/nebula-fake`"); s != "the-fake-as-a-program-cmdnebula-fake" {
		problems = append(problems, "selftest: slug gave "+s)
	}
	return problems
}

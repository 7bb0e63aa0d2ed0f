package cli

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

func (a *App) rootCommand(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "nebula",
		Short: "Manage a Nebula Block account: API keys, SSH keys, GPU instances, billing, inference",
		Long: `nebula manages a Nebula Block account from a terminal or a script.

Log in once with "nebula auth login" (or set NEBULA_API_KEY), then use the
commands below. Results go to stdout (-o table, json or yaml); progress,
warnings and errors go to stderr.

Exit status: 0 success; 1 the API refused or failed; 2 bad usage or input
(nothing was sent); 3 outcome unknown (a create that may have happened: the
message says which command tells); 4 not found; 130 interrupted.`,
		Example: `  nebula auth login
  nebula instance create trainer --product P --image I --ssh-key 7 --wait
  nebula instance list -o json`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	f := root.PersistentFlags()
	f.StringVarP(&a.global.output, "output", "o", "table", "output format: table, json or yaml")
	f.StringVar(&a.global.columns, "columns", "", "table columns to show, comma separated (names as in the header)")
	f.BoolVar(&a.global.noHeader, "no-header", false, "print tables without their header line")
	f.StringVar(&a.global.context, "context", "", "the configuration context to use (overrides NEBULA_API_KEY and NEBULA_API_URL)")
	f.StringVar(&a.global.apiURL, "api-url", "", "the API's base URL (overrides the context and NEBULA_API_URL)")
	f.BoolVar(&a.global.debug, "debug", false, "write the SDK's log records (redacted) to stderr")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("context", a.completeContexts)

	nouns := []struct {
		name string
		make func() *cobra.Command
	}{
		{"auth", a.authCommand},
		{"context", a.contextCommand},
		{"api-key", a.apiKeyCommand},
		{"ssh-key", a.sshKeyCommand},
		{"product", a.productCommand},
		{"image", a.imageCommand},
		{"instance", a.instanceCommand},
		{"billing", a.billingCommand},
		{"model", a.modelCommand},
		{"version", a.versionCommand},
	}
	// Only the command asked for is built when the line names one: a start
	// as quick as a cobra hello-world's (see testdata/coldstart.sh). Help,
	// completion and anything unknown get the whole tree.
	noun := firstWord(args)
	built := false
	for _, n := range nouns {
		if n.name == noun {
			root.AddCommand(n.make())
			built = true
		}
	}
	if !built {
		for _, n := range nouns {
			root.AddCommand(n.make())
		}
	}
	// The completion command writes where root writes at the time it is
	// made.
	root.SetOut(a.Out)
	root.SetErr(a.Err)
	root.SetIn(a.In)
	if !built {
		root.InitDefaultCompletionCmd()
		root.InitDefaultHelpCmd()
	}
	for _, c := range root.Commands() {
		switch c.Name() {
		case "completion":
			c.Example = "  source <(nebula completion bash)\n  nebula completion zsh > \"${fpath[1]}/_nebula\""
			for _, sh := range c.Commands() {
				sh.Example = "  nebula completion " + sh.Name() + " > nebula." + sh.Name()
			}
		case "help":
			c.Example = "  nebula help instance create"
		}
	}
	// Arguments that cobra's validators refuse are bad usage too.
	walk(root, func(c *cobra.Command) {
		if c.Args != nil {
			check := c.Args
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return &usageError{err}
				}
				return nil
			}
		}
	})
	return root
}

// firstWord is the first argument that is no flag: the noun, unless a flag
// with a value comes first (then the value, which names no noun, and the
// whole tree is built).
func firstWord(args []string) string {
	for _, arg := range args {
		if arg == "--" {
			return ""
		}
		if !strings.HasPrefix(arg, "-") {
			return arg
		}
	}
	return ""
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// group makes a noun command that only holds verbs.
func group(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("%s needs a command: %s", cmd.CommandPath(), strings.Join(names(cmd), ", "))
		},
	}
	c.AddCommand(subs...)
	return c
}

func names(c *cobra.Command) []string {
	var out []string
	for _, s := range c.Commands() {
		out = append(out, s.Name())
	}
	return out
}

type versionView struct {
	Version   string `json:"version"`
	SDK       string `json:"sdk_version"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func (a *App) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of nebula and of the SDK it is built on",
		Example: "  nebula version\n  nebula version -o json",
		Args:    cobra.NoArgs,
		RunE: a.run(func(cmd *cobra.Command, _ []string) error {
			v := versionView{a.version(), sdkVersion(), runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH}
			if strings.EqualFold(a.global.output, "table") && a.global.columns == "" {
				_, err := fmt.Fprintf(a.Out, "nebula %s (nebula-go %s, %s, %s)\n", v.Version, v.SDK, v.GoVersion, v.Platform)
				return err
			}
			p, err := newPrinter(a, versionColumns)
			if err != nil {
				return err
			}
			return p.one(v)
		}),
	}
}

var versionColumns = columns[versionView]{
	{"VERSION", func(v versionView) string { return v.Version }, true},
	{"SDK_VERSION", func(v versionView) string { return v.SDK }, true},
	{"GO_VERSION", func(v versionView) string { return v.GoVersion }, true},
	{"PLATFORM", func(v versionView) string { return v.Platform }, true},
}

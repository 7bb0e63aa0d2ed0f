// Package cli is the nebula command line: every command, its output and its
// configuration, as a library that runs in-process, so that tests drive it
// with arguments and buffers against nebulatest. cmd/nebula only wires it to
// the process (arguments, standard streams, environment, signals).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	nebula "github.com/nebula-sdk/nebula-go"
)

// Exit statuses, as CLI.md fixes them.
const (
	ExitOK          = 0   // success
	ExitFailed      = 1   // the API refused or failed
	ExitUsage       = 2   // bad usage or input; nothing was sent
	ExitUnknown     = 3   // the outcome of a create is unknown
	ExitNotFound    = 4   // what was asked for does not exist
	ExitInterrupted = 130 // interrupted (Ctrl-C)
)

// App is one run of the command line: its streams, environment and the
// details tests replace. The zero value of every field but Out and Err is
// usable; Main fills them from the process.
type App struct {
	In       io.Reader
	Out, Err io.Writer

	// Env looks up an environment variable; nil means none is set.
	Env func(string) string

	// StdinIsTerminal and StderrIsTerminal say whether a person is there:
	// login prompts without echo, and progress is a live line, only then.
	StdinIsTerminal, StderrIsTerminal bool
	// ReadPassword reads a line from the terminal without echo; used only
	// when StdinIsTerminal.
	ReadPassword func() (string, error)

	// Location is the time zone of tables (json and yaml are RFC 3339 as
	// the SDK gives them); nil means time.Local.
	Location *time.Location

	// ClientOptions come after the command line's own options for every
	// Client (tests point the SDK at nebulatest's HTTP client and shorten
	// its polling).
	ClientOptions []nebula.Option

	// Interrupts, when set, makes a context that ends on Ctrl-C; it is
	// called once, when a command is about to talk to the API.
	Interrupts func(context.Context) (context.Context, context.CancelFunc)

	// Version is the command line's version, from the build; "" means the
	// SDK's.
	Version string

	// set by the root command's flags
	global globalFlags
	// started is set once a command's own code runs: an error before that
	// is bad usage (exit 2), nothing having been sent.
	started bool
	// ctx is the context commands run under: Run's, or the one Interrupts
	// made from it.
	ctx            context.Context
	stopInterrupts context.CancelFunc
}

type globalFlags struct {
	output   string
	columns  string
	noHeader bool
	context  string
	apiURL   string
	debug    bool
}

func (a *App) env(name string) string {
	if a.Env == nil {
		return ""
	}
	return a.Env(name)
}

func (a *App) location() *time.Location {
	if a.Location == nil {
		return time.Local
	}
	return a.Location
}

// Run runs the command line with args (without the program name) and
// returns the exit status. Errors go to a.Err, one line starting "nebula: "
// (plus a hint where one helps). ctx ending (Ctrl-C) interrupts the command:
// the exit status is then 130.
func (a *App) Run(ctx context.Context, args []string) int {
	if a.Out == nil {
		a.Out = io.Discard
	}
	if a.Err == nil {
		a.Err = io.Discard
	}
	if a.In == nil {
		a.In = strings.NewReader("")
	}
	root := a.rootCommand(args)
	root.SetArgs(args)
	a.ctx = ctx
	err := root.ExecuteContext(ctx)
	if a.stopInterrupts != nil {
		defer a.stopInterrupts()
	}
	if err == nil {
		return ExitOK
	}
	code, msg := a.classify(a.ctx, err)
	fmt.Fprintln(a.Err, redactCredentials(msg))
	return code
}

// credentialRuns are an API key value and a JWT as the SDK recognises them
// ("ak_" or "eyJ" and a run of token characters), for the errors the SDK
// did not write: cobra's quote the argument they refuse, and a key typed
// where a command or a flag value goes ("nebula auth login ak_...") was
// printed whole.
var credentialRuns = regexp.MustCompile(`ak_[A-Za-z0-9_.+/=-]{16,}|eyJ[A-Za-z0-9_.+/=-]{12,}`)

func redactCredentials(msg string) string {
	return credentialRuns.ReplaceAllStringFunc(msg, func(run string) string {
		if strings.HasPrefix(run, "ak_") {
			return "ak_[REDACTED]"
		}
		return "[REDACTED-JWT]"
	})
}

// usageError is bad usage or input found before anything was sent.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// notFoundError is something the command looked for and did not find.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// unknownError is an outcome the command cannot know; hint says which
// command settles it.
type unknownError struct {
	err  error
	hint string
}

func (e *unknownError) Error() string { return e.err.Error() }
func (e *unknownError) Unwrap() error { return e.err }

// interruptedError is a command stopped by Ctrl-C; note says what was left
// as it was.
type interruptedError struct {
	err  error
	note string
}

func (e *interruptedError) Error() string { return e.err.Error() }
func (e *interruptedError) Unwrap() error { return e.err }

// classify turns err into an exit status and the message for stderr.
func (a *App) classify(ctx context.Context, err error) (int, string) {
	// One "nebula: " in front: a command's own words wrap the SDK's error,
	// which has its own ("checking the key: nebula: APIKeys.List: ...").
	text := "nebula: " + strings.ReplaceAll(strings.TrimPrefix(err.Error(), "nebula: "), ": nebula: ", ": ")
	var (
		ue *unknownError
		ie *interruptedError
		nf *notFoundError
		us *usageError
	)
	switch {
	case errors.As(err, &ue):
		// Before "interrupted": a create whose outcome is unknown must be
		// looked up whatever ended it.
		return ExitUnknown, text + "\n" + ue.hint
	case errors.Is(err, nebula.ErrOutcomeUnknown):
		return ExitUnknown, text + "\nthe request may have been carried out: check before repeating it"
	case errors.As(err, &ie):
		return ExitInterrupted, "nebula: interrupted\n" + ie.note
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return ExitInterrupted, "nebula: interrupted"
	case errors.As(err, &us), !a.started, errors.Is(err, nebula.ErrInvalidArgument):
		return ExitUsage, text
	case errors.As(err, &nf), errors.Is(err, nebula.ErrNotFound):
		return ExitNotFound, text
	}
	return ExitFailed, text
}

// client makes the SDK client for the resolved context.
func (a *App) client(cmd *cobra.Command) (*nebula.Client, error) {
	cred, err := a.credentials()
	if err != nil {
		return nil, err
	}
	a.catchInterrupts(cmd)
	return a.newClient(cred.url, cred.key)
}

// catchInterrupts makes Ctrl-C end cmd's context from now on.
func (a *App) catchInterrupts(cmd *cobra.Command) {
	if a.Interrupts == nil || a.ctx != cmd.Context() {
		return
	}
	ctx, stop := a.Interrupts(cmd.Context())
	a.ctx, a.stopInterrupts = ctx, stop
	cmd.SetContext(ctx)
}

func (a *App) newClient(url, key string) (*nebula.Client, error) {
	opts := []nebula.Option{
		nebula.WithToken(key),
		nebula.WithBaseURL(url),
		nebula.WithUserAgent("nebula-cli/" + a.version()),
	}
	if a.global.debug {
		h := slog.NewTextHandler(a.Err, &slog.HandlerOptions{Level: slog.LevelDebug})
		opts = append(opts, nebula.WithLogger(slog.New(h)))
	}
	opts = append(opts, a.ClientOptions...)
	c, err := nebula.NewClient(opts...)
	if err != nil {
		return nil, &usageError{err}
	}
	return c, nil
}

func (a *App) version() string {
	if a.Version != "" {
		return a.Version
	}
	return nebula.Version
}

// run wraps a command's code: from here on, an error is no usage error
// unless the code says so.
func (a *App) run(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		// Checked for every command, those that print nothing or only
		// change the configuration too: "-o xml" is a mistake whatever
		// the command, and must stop it before it does anything.
		switch strings.ToLower(a.global.output) {
		case "table", "json", "yaml":
		default:
			return usagef("unknown output format %q: use table, json or yaml", a.global.output)
		}
		a.started = true
		return f(cmd, args)
	}
}

// withClient is run for a command that needs a client first thing: the
// preamble of every API command, written once.
func (a *App) withClient(f func(cmd *cobra.Command, client *nebula.Client, args []string) error) func(*cobra.Command, []string) error {
	return a.run(func(cmd *cobra.Command, args []string) error {
		client, err := a.client(cmd)
		if err != nil {
			return err
		}
		return f(cmd, client, args)
	})
}

// withPrinterClient is withClient for a command that prints cols: the
// printer comes first, so that a bad -o or --columns is refused before the
// credentials are read and nothing is sent.
func withPrinterClient[T any](a *App, cols columns[T], f func(cmd *cobra.Command, args []string, p *printer[T], client *nebula.Client) error) func(*cobra.Command, []string) error {
	return a.run(func(cmd *cobra.Command, args []string) error {
		p, err := newPrinter(a, cols)
		if err != nil {
			return err
		}
		client, err := a.client(cmd)
		if err != nil {
			return err
		}
		return f(cmd, args, p, client)
	})
}

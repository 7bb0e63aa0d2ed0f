package cli

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Main runs the command line as a process: os.Args, the standard streams,
// the environment, and Ctrl-C (SIGINT) or SIGTERM interrupting the command.
// It returns the exit status.
func Main() int {
	a := &App{
		In:               os.Stdin,
		Out:              os.Stdout,
		Err:              os.Stderr,
		Env:              os.Getenv,
		StdinIsTerminal:  isTerminal(os.Stdin.Fd()),
		StderrIsTerminal: isTerminal(os.Stderr.Fd()),
		ReadPassword:     func() (string, error) { return readPassword(os.Stdin) },
		Version:          buildVersion(),
		// Only commands that talk to the API catch Ctrl-C: a handler costs
		// a thread at start, which nebula version and completion do
		// without (see cmd/nebula/testdata/coldstart.sh).
		Interrupts: func(ctx context.Context) (context.Context, context.CancelFunc) {
			return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		},
	}
	return a.Run(context.Background(), os.Args[1:])
}

// buildVersion is the module version go install recorded ("v0.2.0"), or ""
// for a build from a checkout (then the SDK's version stands for it).
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return ""
	}
	return bi.Main.Version
}

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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &App{
		In:               os.Stdin,
		Out:              os.Stdout,
		Err:              os.Stderr,
		Env:              os.Getenv,
		StdinIsTerminal:  isTerminal(os.Stdin.Fd()),
		StderrIsTerminal: isTerminal(os.Stderr.Fd()),
		ReadPassword:     func() (string, error) { return readPassword(os.Stdin) },
		Version:          buildVersion(),
	}
	return a.Run(ctx, os.Args[1:])
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

//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import (
	"errors"
	"os"
)

// isTerminal is false where the command line cannot turn echo off: a key is
// then read from stdin as from a pipe.
func isTerminal(uintptr) bool { return false }

func readPassword(*os.File) (string, error) {
	return "", errors.New("cannot read without echo on this system")
}

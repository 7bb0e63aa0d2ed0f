// Package leakcheck is the TestMain of every package of this repository
// that runs tests: it fails a run that leaves a goroutine behind (a leaked
// connection, timer, login or span processor).
package leakcheck

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// settle is how long goroutines on their way out (the read loop of a
// connection a test server closed) may take to end. goleak.VerifyTestMain
// gives them about 0.4 s, which a loaded machine can exceed; a leaked
// goroutine stays, so waiting longer for the others loses nothing.
const settle = 10 * time.Second

// Main runs the tests and, when they passed, exits 1 if goroutines other
// than the test binary's own are still running after settle.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		err := goleak.Find()
		for deadline := time.Now().Add(settle); err != nil && time.Now().Before(deadline); err = goleak.Find() {
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

package nebula

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a leaked
// connection, timer or login.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

package nebulaotel

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a leaked
// connection or span processor.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

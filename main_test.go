package nebula

import (
	"testing"

	"github.com/nebula-sdk/nebula-go/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

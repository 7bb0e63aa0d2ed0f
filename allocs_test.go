package nebula

import (
	"errors"
	"testing"
)

// The steps of every list call that need not allocate do not: a list
// without options, the docs' times, and a success passing the SSH key
// material filter. Each allocated before (5, 1 per time and 1).
//
// Not parallel: testing.AllocsPerRun refuses to run in a parallel test,
// since it counts every goroutine's allocations. Serial tests run before
// any parallel one starts, so the count is this test's alone.
func TestListStepsDoNotAllocate(t *testing.T) {
	docTime := []byte(`"EST 2024-10-23 10:24:21"`)
	steps := []struct {
		name string
		step func() error
	}{
		{"ListOptions{}.query", func() error {
			q, err := ListOptions{}.query()
			if q != "" {
				return errors.New("query " + q)
			}
			return err
		}},
		{"apiTime.UnmarshalJSON of a docs time", func() error {
			var v apiTime
			if err := v.UnmarshalJSON(docTime); err != nil {
				return err
			}
			if v.IsZero() {
				return errors.New("zero time")
			}
			return nil
		}},
		{"redactKeyMaterial(nil)", func() error { return redactKeyMaterial(nil) }},
	}
	for _, s := range steps {
		var err error
		allocs := testing.AllocsPerRun(100, func() { err = s.step() })
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations, want 0", s.name, allocs)
		}
	}
}

package nebula

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestListOptionsCheck(t *testing.T) {
	t.Parallel()
	for _, o := range []ListOptions{{}, {Limit: 2}, {Offset: 4}, {Limit: 100, Offset: 300}} {
		if err := o.check(); err != nil {
			t.Errorf("%+v.check() = %v", o, err)
		}
	}
	for _, o := range []ListOptions{{Limit: -1}, {Offset: -1}, {Limit: -5, Offset: -5}, {Limit: 2, Offset: math.MinInt}} {
		if err := o.check(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v.check() = %v, want ErrInvalidArgument", o, err)
		}
	}
}

func TestListOptionsQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts ListOptions
		want string
	}{
		{ListOptions{}, ""},
		{ListOptions{Limit: 2}, "limit=2"},
		{ListOptions{Offset: 4}, "offset=4"},
		// The docs' own example: ?limit=2&offset=0 sends the same as limit=2.
		{ListOptions{Limit: 2, Offset: 0}, "limit=2"},
		{ListOptions{Limit: 100, Offset: 200}, "limit=100&offset=200"},
	}
	for _, tt := range tests {
		got, err := tt.opts.query()
		if err != nil || got != tt.want {
			t.Errorf("%+v.query() = %q, %v; want %q", tt.opts, got, err, tt.want)
		}
	}
	if q, err := (ListOptions{Limit: -1}).query(); !errors.Is(err, ErrInvalidArgument) || q != "" {
		t.Errorf("negative limit: %q, %v; want ErrInvalidArgument", q, err)
	}
}

func intp(n int) *int { return &n }

func TestNewPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		items     int
		total     *int
		opts      ListOptions
		wantTotal int
		wantNext  *ListOptions
	}{
		// With a total_* field.
		{"first of two", 2, intp(3), ListOptions{Limit: 2}, 3, &ListOptions{Limit: 2, Offset: 2}},
		{"last, short", 1, intp(3), ListOptions{Limit: 2, Offset: 2}, 3, nil},
		{"last, exactly full", 2, intp(4), ListOptions{Limit: 2, Offset: 2}, 4, nil},
		{"short page but total says more", 1, intp(5), ListOptions{Limit: 2}, 5, &ListOptions{Limit: 2, Offset: 1}},
		{"the docs' invoices: 3 of 3 with limit 2", 3, intp(3), ListOptions{Limit: 2}, 3, nil},
		{"no limit asked, total says more", 100, intp(250), ListOptions{}, 250, &ListOptions{Offset: 100}},
		{"no limit asked, all there", 1, intp(1), ListOptions{}, 1, nil},
		{"empty page though total says more", 0, intp(10), ListOptions{Limit: 2, Offset: 4}, 10, nil},
		{"empty list", 0, intp(0), ListOptions{Limit: 2}, 0, nil},
		{"total smaller than what came", 3, intp(2), ListOptions{Limit: 5}, 2, nil},
		// Without a total.
		{"no total, full page", 2, nil, ListOptions{Limit: 2}, 2, &ListOptions{Limit: 2, Offset: 2}},
		{"no total, full page at offset", 2, nil, ListOptions{Limit: 2, Offset: 6}, 8, &ListOptions{Limit: 2, Offset: 8}},
		{"no total, longer than the limit", 3, nil, ListOptions{Limit: 2}, 3, &ListOptions{Limit: 2, Offset: 3}},
		{"no total, short page", 1, nil, ListOptions{Limit: 2, Offset: 2}, 3, nil},
		{"no total, no limit", 5, nil, ListOptions{}, 5, nil},
		{"no total, empty", 0, nil, ListOptions{Limit: 2, Offset: 2}, 2, nil},
		// An offset at the edge of int.
		{"offset overflow", 2, nil, ListOptions{Limit: 2, Offset: math.MaxInt - 1}, math.MaxInt, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			items := make([]string, tt.items)
			p := newPage(items, tt.total, tt.opts)
			if len(p.Items) != tt.items {
				t.Errorf("Items has %d, want %d", len(p.Items), tt.items)
			}
			if p.Total != tt.wantTotal {
				t.Errorf("Total = %d, want %d", p.Total, tt.wantTotal)
			}
			if !reflect.DeepEqual(p.Next, tt.wantNext) {
				t.Errorf("Next = %+v, want %+v", p.Next, tt.wantNext)
			}
		})
	}
}

// fakeList serves data in pages as a documented list call does (with a
// total) and counts the calls.
type fakeList struct {
	data  []int
	calls []ListOptions
}

func (f *fakeList) fetch(ctx context.Context, opts ListOptions) (*Page[int], error) {
	if ctx == nil {
		return nil, invalidArgument("nil context")
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	f.calls = append(f.calls, opts)
	start := min(opts.Offset, len(f.data))
	end := len(f.data)
	if opts.Limit > 0 {
		end = min(start+opts.Limit, end)
	}
	total := len(f.data)
	return newPage(append([]int(nil), f.data[start:end]...), &total, opts), nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

func TestAllPagesWalksEveryPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n, size   int
		wantCalls []ListOptions
	}{
		{"three pages, last short", 5, 2, []ListOptions{{Limit: 2}, {Limit: 2, Offset: 2}, {Limit: 2, Offset: 4}}},
		{"two full pages", 4, 2, []ListOptions{{Limit: 2}, {Limit: 2, Offset: 2}}},
		{"one page", 3, defaultPageSize, []ListOptions{{Limit: 100}}},
		{"empty", 0, 2, []ListOptions{{Limit: 2}}},
		{"no page size: the API's default", 3, 0, []ListOptions{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeList{data: seq(tt.n)}
			var got []int
			for v, err := range allPages(context.Background(), "Test.All", tt.size, f.fetch, intKey) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			if !reflect.DeepEqual(got, f.data) && (len(got) != 0 || len(f.data) != 0) {
				t.Errorf("got %v, want %v", got, f.data)
			}
			if !reflect.DeepEqual(f.calls, tt.wantCalls) {
				t.Errorf("fetches = %+v, want %+v", f.calls, tt.wantCalls)
			}
		})
	}
}

func TestAllPagesIsLazy(t *testing.T) {
	t.Parallel()
	f := &fakeList{data: seq(5)}
	it := allPages(context.Background(), "Test.All", 2, f.fetch, intKey)
	if len(f.calls) != 0 {
		t.Fatalf("%d fetches before the loop started", len(f.calls))
	}
	n := 0
	for v, err := range it {
		if err != nil {
			t.Fatal(err)
		}
		n++
		// The second page is fetched only once the first is used up.
		if want := (v + 1) / 2; len(f.calls) != want {
			t.Errorf("at item %d: %d fetches, want %d", v, len(f.calls), want)
		}
	}
	if n != 5 {
		t.Errorf("%d items, want 5", n)
	}
}

func TestAllPagesBreakStopsFetching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		breakAt   int // break after this many items
		wantCalls int
	}{
		{"within the first page", 1, 1},
		{"at the end of the first page", 2, 1},
		{"within the second page", 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeList{data: seq(10)}
			n := 0
			for _, err := range allPages(context.Background(), "Test.All", 2, f.fetch, intKey) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if n == tt.breakAt {
					break
				}
			}
			if len(f.calls) != tt.wantCalls {
				t.Errorf("%d fetches, want %d", len(f.calls), tt.wantCalls)
			}
		})
	}
}

func TestAllPagesYieldsErrorOnce(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name     string
		failAt   int // the fetch (1-based) that fails
		wantSeen []int
	}{
		{"first fetch", 1, nil},
		{"second fetch", 2, []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeList{data: seq(10)}
			calls := 0
			fetch := func(ctx context.Context, o ListOptions) (*Page[int], error) {
				calls++
				if calls == tt.failAt {
					return nil, boom
				}
				return f.fetch(ctx, o)
			}
			var seen []int
			errs := 0
			for v, err := range allPages(context.Background(), "Test.All", 2, fetch, intKey) {
				if err != nil {
					errs++
					if !errors.Is(err, boom) || v != 0 {
						t.Errorf("yielded (%d, %v), want (0, boom)", v, err)
					}
					continue // keep asking: the walk must end on its own
				}
				seen = append(seen, v)
			}
			if errs != 1 {
				t.Errorf("%d errors yielded, want 1", errs)
			}
			if !reflect.DeepEqual(seen, tt.wantSeen) {
				t.Errorf("items %v, want %v", seen, tt.wantSeen)
			}
			if calls != tt.failAt {
				t.Errorf("%d fetches, want %d", calls, tt.failAt)
			}
		})
	}
}

func TestAllPagesRefusesAServerThatDoesNotAdvance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		next func(o ListOptions) *ListOptions
	}{
		{"same offset", func(o ListOptions) *ListOptions { return &ListOptions{Limit: o.Limit, Offset: o.Offset} }},
		{"backwards", func(o ListOptions) *ListOptions { return &ListOptions{Limit: o.Limit, Offset: 0} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			fetch := func(_ context.Context, o ListOptions) (*Page[int], error) {
				calls++
				if calls > 10 {
					return nil, errors.New("walked on and on")
				}
				if o.Offset == 0 {
					return &Page[int]{Items: []int{1, 2}, Total: 100, Next: &ListOptions{Limit: 2, Offset: 2}}, nil
				}
				return &Page[int]{Items: []int{3, 4}, Total: 100, Next: tt.next(o)}, nil
			}
			var seen []int
			var errs []error
			for v, err := range allPages(context.Background(), "Test.All", 2, fetch, intKey) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				seen = append(seen, v)
			}
			if len(errs) != 1 || !errors.Is(errs[0], ErrUnexpectedResponse) {
				t.Fatalf("errors %v, want one ErrUnexpectedResponse", errs)
			}
			if calls != 2 || !reflect.DeepEqual(seen, []int{1, 2, 3, 4}) {
				t.Errorf("%d fetches, items %v", calls, seen)
			}
		})
	}
}

func TestAllPagesNilPage(t *testing.T) {
	t.Parallel()
	fetch := func(context.Context, ListOptions) (*Page[int], error) { return nil, nil }
	errs := 0
	for _, err := range allPages(context.Background(), "Test.All", 2, fetch, intKey) {
		if !errors.Is(err, ErrUnexpectedResponse) {
			t.Errorf("got %v, want ErrUnexpectedResponse", err)
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("%d yields, want 1", errs)
	}
}

func TestAllPagesNilContext(t *testing.T) {
	t.Parallel()
	f := &fakeList{data: seq(3)}
	errs := 0
	//lint:ignore SA1012 a nil context is what this test is about
	for _, err := range allPages(nil, "Test.All", 2, f.fetch, intKey) { //nolint:staticcheck
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("got %v, want ErrInvalidArgument", err)
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("%d yields, want 1", errs)
	}
}

func TestAllPagesHoldsOnePage(t *testing.T) {
	t.Parallel()
	// big is large enough to get an allocation of its own, so that a
	// finalizer on the first page's array runs once nothing holds that page.
	type big struct {
		n int
		_ [256]byte
	}
	freed := make(chan struct{})
	fetch := func(_ context.Context, o ListOptions) (*Page[big], error) {
		if o.Offset > 0 {
			// The first page has been yielded and must be unreachable now.
			runtime.GC()
			select {
			case <-freed:
			case <-time.After(5 * time.Second):
				t.Error("the previous page is still held while fetching the next")
			}
		}
		items := make([]big, 2)
		items[0].n, items[1].n = o.Offset+1, o.Offset+2
		if o.Offset == 0 {
			runtime.SetFinalizer(&items[0], func(*big) { close(freed) })
		}
		total := 4
		return newPage(items, &total, o), nil
	}
	sum := 0
	for v, err := range allPages(context.Background(), "Test.All", 2, fetch, func(b *big) string { return strconv.Itoa(b.n) }) {
		if err != nil {
			t.Fatal(err)
		}
		sum += v.n
	}
	if sum != 1+2+3+4 {
		t.Errorf("sum %d, want 10", sum)
	}
}

// intKey is an int item's identity in a page walk.
func intKey(v *int) string { return strconv.Itoa(*v) }

func TestWalkEndsAfterMaxPages(t *testing.T) {
	t.Parallel()
	// Every page is new and promises a successor: the walk stops all the same.
	calls := 0
	fetch := func(_ context.Context, o ListOptions) (*Page[int], error) {
		calls++
		return newPage([]int{o.Offset}, nil, o), nil
	}
	n := 0
	var last error
	for _, err := range allPages(context.Background(), "Test.All", 1, fetch, intKey) {
		n++
		last = err
	}
	if !errors.Is(last, ErrUnexpectedResponse) || calls != maxPages || n != maxPages+1 {
		t.Errorf("%d fetches, %d yields, last error %v", calls, n, last)
	}
}

func TestWalkSkipsItemsSeenOnAnEarlierPage(t *testing.T) {
	t.Parallel()
	pages := map[int][]int{0: {1, 2, 3}, 3: {3, 4, 5}, 6: {6}}
	fetch := func(_ context.Context, o ListOptions) (*Page[int], error) {
		total := 7
		return newPage(pages[o.Offset], &total, o), nil
	}
	var got []int
	for v, err := range allPages(context.Background(), "Test.All", 3, fetch, intKey) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if fmt.Sprint(got) != "[1 2 3 4 5 6]" {
		t.Errorf("got %v", got)
	}
}

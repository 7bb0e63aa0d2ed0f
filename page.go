package nebula

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"slices"

	"github.com/google/go-querystring/query"
)

// ListOptions pages a list call: limit/offset query parameters, encoded with
// go-querystring. Zero values are omitted (the API's defaults apply: the
// docs give a limit of 100 and an offset of 0). A negative Limit or Offset
// makes the call fail with ErrInvalidArgument before anything is sent.
type ListOptions struct {
	Limit  int `url:"limit,omitempty"`
	Offset int `url:"offset,omitempty"`
}

// Page is one page of a list call.
type Page[T any] struct {
	Items []T
	// Total is the API's total_* count. Should an answer carry none, it is
	// the number of items known so far (the offset plus this page), which
	// is exact on the last page.
	Total int
	// Next asks for the page after this one; it is nil on the last page.
	Next *ListOptions
}

// defaultPageSize is the page size All walks with, the API's documented
// default limit.
const defaultPageSize = 100

// check refuses options the API cannot mean.
func (o ListOptions) check() error {
	if o.Limit < 0 {
		return invalidArgument("list limit %d is negative", o.Limit)
	}
	if o.Offset < 0 {
		return invalidArgument("list offset %d is negative", o.Offset)
	}
	return nil
}

// query encodes the options as a query string without the "?", "" when both
// are zero. It returns the error of check.
func (o ListOptions) query() (string, error) {
	if err := o.check(); err != nil {
		return "", err
	}
	if o == (ListOptions{}) {
		return "", nil // what query.Values gives, without its five allocations
	}
	v, err := query.Values(o)
	if err != nil {
		return "", invalidArgument("list options: %v", err)
	}
	return v.Encode(), nil
}

// newPage builds the page for items, the answer to a call made with opts.
// total is nil when the answer had no total_* field; then a page as long as
// the limit asked for is assumed to have a successor, and a shorter one (or
// any page when no limit was asked, since the API's default is not known for
// sure) is the last.
func newPage[T any](items []T, total *int, opts ListOptions) *Page[T] {
	p := &Page[T]{Items: items}
	next := opts.Offset + len(items)
	overflow := next < opts.Offset
	switch {
	case total != nil:
		p.Total = *total
	case overflow:
		p.Total = math.MaxInt
	default:
		p.Total = next
	}
	switch {
	case len(items) == 0, overflow:
		return p
	case total != nil && next >= *total:
		return p
	case total == nil && (opts.Limit == 0 || len(items) < opts.Limit):
		return p
	}
	p.Next = &ListOptions{Limit: opts.Limit, Offset: next}
	return p
}

// maxPages bounds every page walk: no account holds a million items of one
// kind, and a server that keeps handing out new pages must not keep a
// caller looping for ever.
const maxPages = 10000

// allPages walks every page lazily, starting at ListOptions{Limit:
// pageSize}, and yields each item once. It holds one page in memory (and the
// IDs seen so far), stops fetching as soon as the caller breaks out of the
// loop, and on the first error yields it once (with the zero T) and stops.
// op names the call in errors ("SSHKeys.All"); key gives an item's
// identity (its ID); see walkPages for the rules that
// end a walk against a server that does not page as documented. ctx goes to
// fetch as it is (fetch reports a nil one as ErrInvalidArgument).
func allPages[T any](ctx context.Context, op string, pageSize int, fetch func(context.Context, ListOptions) (*Page[T], error), key func(*T) string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		_, err := walkPages(ctx, op, ListOptions{Limit: pageSize}, fetch, key, func(v *T) bool { return yield(*v, nil) })
		if err != nil {
			yield(zero, err)
		}
	}
}

// walkPages fetches the pages from start on and hands each item to visit,
// until the last page, the first error, or visit returning false. It returns
// the Total of the last page fetched.
//
// A list drifts while it is walked (items created or deleted move the others
// across page boundaries), so an item met again on a later page is skipped:
// visit sees each key once. Items with an empty key are never taken for
// repeats. The walk ends with an error wrapping ErrUnexpectedResponse, rather
// than looping or yielding duplicates, when the server does not page as
// documented:
//   - a page holds the same set of keys as an earlier page (a server that
//     ignores offset); a partial overlap is normal drift;
//   - the distinct keys seen outnumber the latest page's Total (a stated
//     total smaller than the items; without one Total counts the items
//     handed out, which the distinct keys cannot exceed);
//   - the next page does not start after the current one;
//   - more than maxPages pages.
func walkPages[T any](ctx context.Context, op string, start ListOptions, fetch func(context.Context, ListOptions) (*Page[T], error), key func(*T) string, visit func(*T) bool) (int, error) {
	opts := start
	seen := make(map[string]struct{})
	pages := make(map[[sha256.Size]byte]int) // a page's key set -> its number
	distinct := 0
	var keys []string
	for n := 1; ; n++ {
		if n > maxPages {
			return 0, fmt.Errorf("%w: %s: the list goes on past %d pages", ErrUnexpectedResponse, op, maxPages)
		}
		page, err := fetch(ctx, opts)
		if err != nil {
			return 0, asCall(err, op)
		}
		if page == nil {
			return 0, fmt.Errorf("%w: %s: a list call returned no page", ErrUnexpectedResponse, op)
		}
		items, next, total := page.Items, page.Next, page.Total
		keys = keys[:0]
		for i := range items {
			keys = append(keys, key(&items[i]))
		}
		if len(items) > 0 {
			fp := keySetPrint(keys)
			if earlier, ok := pages[fp]; ok {
				return 0, fmt.Errorf("%w: %s: page %d (offset %d) repeats the items of page %d: the server seems to ignore offset", ErrUnexpectedResponse, op, n, opts.Offset, earlier)
			}
			pages[fp] = n
		}
		for i := range items {
			k := keys[i]
			if k != "" {
				if _, dup := seen[k]; dup {
					continue // drift moved it onto this page too
				}
				seen[k] = struct{}{}
			}
			distinct++
			if distinct > total {
				return 0, fmt.Errorf("%w: %s: the list holds more than the %d items it says it has", ErrUnexpectedResponse, op, total)
			}
			if !visit(&items[i]) {
				return total, nil
			}
		}
		if next == nil {
			return total, nil
		}
		if next.Offset <= opts.Offset {
			return 0, fmt.Errorf("%w: %s: the next page starts at offset %d, not after %d", ErrUnexpectedResponse, op, next.Offset, opts.Offset)
		}
		opts = *next
	}
}

// keySetPrint is a digest of a set of keys, whatever their order: two pages
// with the same items in another order are the same page.
func keySetPrint(keys []string) [sha256.Size]byte {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, k := range sorted {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(k)))])
		h.Write([]byte(k))
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// flexTotal is a total_* count as newPage takes it: nil when absent.
func flexTotal(t *flexInt) *int {
	if t == nil {
		return nil
	}
	n := int(*t)
	return &n
}

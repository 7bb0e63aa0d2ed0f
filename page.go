package nebula

import (
	"context"
	"fmt"
	"iter"
	"math"

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

// allPages walks every page lazily, starting at ListOptions{Limit:
// pageSize}, and yields each item. It holds one page in memory, stops
// fetching as soon as the caller breaks out of the loop, and on the first
// error yields it once (with the zero T) and stops. A server whose Next does
// not move forward ends the walk with an error wrapping
// ErrUnexpectedResponse rather than looping for ever. ctx goes to fetch as
// it is (fetch reports a nil one as ErrInvalidArgument).
func allPages[T any](ctx context.Context, pageSize int, fetch func(context.Context, ListOptions) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		opts := ListOptions{Limit: pageSize}
		for {
			page, err := fetch(ctx, opts)
			if err != nil {
				yield(zero, err)
				return
			}
			if page == nil {
				yield(zero, fmt.Errorf("%w: a list call returned no page", ErrUnexpectedResponse))
				return
			}
			// Only items and next stay live past this point, and only
			// until the next fetch: one page in memory.
			items, next := page.Items, page.Next
			for i := range items {
				if !yield(items[i], nil) {
					return
				}
			}
			if next == nil {
				return
			}
			if next.Offset <= opts.Offset {
				yield(zero, fmt.Errorf("%w: the next page starts at offset %d, not after %d", ErrUnexpectedResponse, next.Offset, opts.Offset))
				return
			}
			opts = *next
		}
	}
}

// flexTotal is a total_* count as newPage takes it: nil when absent.
func flexTotal(t *flexInt) *int {
	if t == nil {
		return nil
	}
	n := int(*t)
	return &n
}

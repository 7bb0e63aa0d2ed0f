package nebula_test

import (
	"context"
	"fmt"
	"log"

	nebula "github.com/nebula-sdk/nebula-go"
)

func ExampleDecimal_Float64() {
	// A balance as the API sends it ("available_balance": "1228.55600"):
	// the Decimal keeps the digits, Float64 is for computing.
	balance := nebula.Decimal("1228.55600")
	v, err := balance.Float64()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(balance, v, v >= 1000)
	// Output: 1228.55600 1228.556 true
}

func ExamplePage() {
	// list stands in for a list call such as client.SSHKeys.List, here
	// serving five names two at a time.
	names := []string{"a", "b", "c", "d", "e"}
	list := func(_ context.Context, opts nebula.ListOptions) (*nebula.Page[string], error) {
		end := min(opts.Offset+opts.Limit, len(names))
		page := &nebula.Page[string]{Items: names[opts.Offset:end], Total: len(names)}
		if end < len(names) {
			page.Next = &nebula.ListOptions{Limit: opts.Limit, Offset: end}
		}
		return page, nil
	}

	// Follow Next until it is nil. (All does this for you, lazily.)
	ctx := context.Background()
	opts := nebula.ListOptions{Limit: 2}
	for {
		page, err := list(ctx, opts)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(page.Items, "of", page.Total)
		if page.Next == nil {
			break
		}
		opts = *page.Next
	}
	// Output:
	// [a b] of 5
	// [c d] of 5
	// [e] of 5
}

package nebula

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkInstancesCreate measures what one Create costs against accounts
// of 10, 1 000 and 10 000 instances, in requests and in time, on a loopback
// server that lists instances in creation order (as the API and nebulatest
// do), 100 to a page:
//
//	go test -run '^$' -bench InstancesCreate -benchtime 20x .
func BenchmarkInstancesCreate(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run("instances="+strconv.Itoa(n), func(b *testing.B) {
			a := newAccount(n)
			c, _ := accountClient(b, a)
			ctx := context.Background()
			req := validCreate()
			before := a.total()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req.Name = "bench-" + strconv.Itoa(i)
				if _, err := c.Instances.Create(ctx, req); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				a.mu.Lock()
				a.instances = a.instances[:n] // the account keeps its size
				a.mu.Unlock()
				b.StartTimer()
			}
			b.ReportMetric(float64(a.total()-before)/float64(b.N), "requests/op")
		})
	}
}

package nebula

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
)

// BenchmarkSSHKeysAll walks 10 000 SSH keys in pages of 100 from a loopback
// server, with the SDK's All and with a plain net/http + encoding/json loop
// doing the same, in the same run:
//
//	go test -run '^$' -bench SSHKeysAll -benchmem .
//
// Besides time and allocations it reports heap-B: the largest growth of the
// live heap (after a GC) seen at any page boundary of one walk, i.e. what
// the walk holds. page-body-B is the size of one page's JSON body.
// "sdk-collect" keeps every key, for comparison.
func BenchmarkSSHKeysAll(b *testing.B) {
	const total, pageSize = 10_000, defaultPageSize
	srv := newSSHKeyPagesServer(b, total)

	sdk := benchSDK(b, srv)
	plain := newPlainClient(srv)
	walks := []struct {
		name string
		walk func(ctx context.Context, each func(i int)) error
	}{
		{"sdk", func(ctx context.Context, each func(int)) error {
			i := 0
			for _, err := range sdk.SSHKeys.All(ctx) {
				if err != nil {
					return err
				}
				each(i)
				i++
			}
			return nil
		}},
		{"plain", func(ctx context.Context, each func(int)) error {
			i := 0
			for offset := 0; ; offset += pageSize {
				data, err := plainDo[plainSSHKeyList](ctx, plain, http.MethodGet,
					"/ssh-keys?limit="+strconv.Itoa(pageSize)+"&offset="+strconv.Itoa(offset), nil)
				if err != nil {
					return err
				}
				for range data.Keys {
					each(i)
					i++
				}
				if len(data.Keys) == 0 || offset+len(data.Keys) >= data.Total {
					return nil
				}
			}
		}},
		{"sdk-collect", func(ctx context.Context, each func(int)) error {
			var all []SSHKey
			for key, err := range sdk.SSHKeys.All(ctx) {
				if err != nil {
					return err
				}
				all = append(all, key)
				each(len(all) - 1)
			}
			runtime.KeepAlive(all)
			return nil
		}},
	}
	for _, w := range walks {
		b.Run(w.name, func(b *testing.B) {
			ctx := context.Background()
			n := 0
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				n = 0
				if err := w.walk(ctx, func(int) { n++ }); err != nil {
					b.Fatal(err)
				}
			}
			if n != total {
				b.Fatalf("walked %d keys, want %d", n, total)
			}
			b.StopTimer()
			peak, err := peakLiveHeap(ctx, w.walk, pageSize)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(peak), "heap-B")
			b.ReportMetric(float64(len(sshKeysPage(0, pageSize, strconv.Itoa(total)))), "page-body-B")
		})
	}
}

// peakLiveHeap walks once and, at the first item of every page, collects
// garbage and reads the live heap; it returns the largest growth over the
// live heap before the walk.
func peakLiveHeap(ctx context.Context, walk func(context.Context, func(int)) error, pageSize int) (uint64, error) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC() // a second cycle empties the sync.Pools of the timed loop
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	err := walk(ctx, func(i int) {
		if i%pageSize != 0 {
			return
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
			peak = ms.HeapAlloc - base
		}
	})
	return peak, err
}

type plainSSHKey struct {
	ID         int    `json:"id"`
	KeyName    string `json:"key_name"`
	KeyData    string `json:"key_data"`
	CreateTime string `json:"create_time"`
}

type plainSSHKeyList struct {
	Total int           `json:"total_ssh_keys"`
	Keys  []plainSSHKey `json:"ssh_keys"`
}

// newSSHKeyPagesServer serves total SSH keys by limit and offset. Every
// page is encoded before the benchmark starts, so the server allocates
// next to nothing while the clients are measured.
func newSSHKeyPagesServer(b *testing.B, total int) *httptest.Server {
	b.Helper()
	pages := map[int][]byte{} // by offset
	for offset := 0; offset < total+defaultPageSize; offset += defaultPageSize {
		n := max(0, min(defaultPageSize, total-offset))
		// The time in the form the docs show on the SSH key list, which
		// costs more to parse than unix seconds.
		pages[offset] = []byte(sshKeysPageAt(offset, n, strconv.Itoa(total), "EST 2024-10-23 10:24:21"))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		offset, _ := strconv.Atoi(q.Get("offset"))
		body, ok := pages[offset]
		if !ok || q.Get("limit") != strconv.Itoa(defaultPageSize) {
			http.Error(w, fmt.Sprintf(`{"status":"failed","message":"no page %q"}`, r.URL.RawQuery), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

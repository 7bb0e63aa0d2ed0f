package nebula

import (
	"net/http"
	"testing"
)

// FuzzDecodeInstances feeds any body to the decoder of the instance list and
// detail: it must not panic, and a success must hold only instances with an
// ID, and at most one for the detail.
//
//	go test -run '^$' -fuzz '^FuzzDecodeInstances$' -fuzztime 20s .
func FuzzDecodeInstances(f *testing.F) {
	for _, b := range []string{
		docsInstanceList, docsInstanceDeletedList, docsInstanceDetail, docsInstanceCreated,
		listOf(-1), `{"data":null,"status":"success"}`, `{"data":[{"id":1,"running_time":"1 hour","start_time":1730847667}],"status":"success"}`,
	} {
		f.Add([]byte(b), false)
		f.Add([]byte(b), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, single bool) {
		var (
			list  instanceList
			items []instanceData
		)
		r := &request{method: http.MethodGet, decode: func(env *rawEnvelope, _ any) string {
			if single {
				reason := list.decodeDetail(env)
				items = list
				return reason
			}
			if reason := decodeNullable(env, &list); reason != "" {
				return reason
			}
			var reason string
			items, _, reason = list.page(env)
			return reason
		}}
		failed, reason := decodeSuccess(body, r, new(rawEnvelope))
		if failed || reason != "" {
			return
		}
		ins := make([]Instance, len(items))
		for i := range items {
			ins[i] = items[i].instance()
		}
		if single && len(ins) > 1 {
			t.Fatalf("detail with %d instances", len(ins))
		}
		for _, in := range ins {
			if in.ID == "" {
				t.Fatalf("instance without ID from %q", body)
			}
		}
	})
}

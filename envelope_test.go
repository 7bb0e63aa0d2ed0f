package nebula

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// decodedBy runs decode (decodeSuccess or decodeWhole) on body with each
// kind of decoder the SDK has, and returns what each gave: the failed
// flag, the reason and the decoded value.
func decodedBy(decode func([]byte, *request, *rawEnvelope) (bool, string), body []byte) []any {
	var (
		created createdAPIKeyData
		keys    []APIKey
		list    instanceList
		items   []instanceData
		total   *flexInt
		images  generatedImages
	)
	requests := []*request{
		{method: http.MethodPost, decode: func(env *rawEnvelope, _ any) string { return decodeObject(env, &created) }},
		{method: http.MethodGet, decode: func(env *rawEnvelope, _ any) string { return decodeNullable(env, &keys) }},
		{method: http.MethodGet, decode: func(env *rawEnvelope, _ any) string {
			if reason := decodeNullable(env, &list); reason != "" {
				return reason
			}
			var reason string
			items, total, reason = list.page(env)
			return reason
		}},
		{method: http.MethodPost, decode: decodeImages, out: &images},
		{method: http.MethodDelete, noData: true},
	}
	var got []any
	for _, r := range requests {
		failed, reason := decode(body, r, new(rawEnvelope))
		got = append(got, failed, reason)
	}
	return append(got, created, keys, items, total, images)
}

// FuzzSplitEnvelope checks the fast envelope split against encoding/json
// decoding the whole body: for any body, every decoder must end the same.
func FuzzSplitEnvelope(f *testing.F) {
	for _, b := range docsBodies {
		f.Add([]byte(b))
	}
	for _, b := range envelopeCases {
		f.Add([]byte(b.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, whole := decodedBy(decodeSuccess, body), decodedBy(decodeWhole, body)
		if !reflect.DeepEqual(fast, whole) {
			t.Fatalf("body %q:\nsplit: %#v\nwhole: %#v", body, fast, whole)
		}
	})
}

// envelopeCases are answers at the edges of what splitEnvelope takes on:
// each gives the same through the split as through encoding/json, and
// split says whether the fast path takes it.
var envelopeCases = []struct {
	body  string
	split bool
}{
	{`{"status":"success","data":{"id":7,"key":"ak_x","name":"n"}}`, true},
	{` {"status" : "success" , "data" : [ {"id":"a"} ] , "total_instance" : 3 } `, true},
	{`{"STATUS":"success","Data":null}`, true},
	{`{"status":"success","data":{"a":"}]\"{["},"message":"ok"}`, true},
	{`{"status":"success","total_instance":5}`, true},
	{`{"status":"success","data":[1,2],"model":"m"}`, true},
	{`{"data":[],"status":"failed","message":"no"}`, true},
	{`{"status":"success","status":"failed","data":[]}`, true},
	// A repeated data: the earlier ones, which no decoder reads, must be
	// JSON too, so encoding/json decides.
	{`{"status":"success","data":[1,,2],"data":[]}`, false},
	{`{"status":"success","data":,"data":[]}`, false},
	{`{"status":"success","Data":tru,"data":{"id":7,"key":"ak_x","name":"n"}}`, false},
	{`{"status":"success","data":[1],"DATA":null}`, false},
	{`{}`, true},
	{`{"status":"success","data":[1,,2]}`, true}, // not JSON: the decoder finds it
	{`{"status":"success","data":[1,2}}`, true},  // not JSON: the decoder finds it
	{`{"status":"success","data":[1,2}`, false},
	{`{"status":"success","data":}`, true},            // not JSON: the decoder finds it
	{`{"status":"success","data":[],"x":tru}`, false}, // not JSON: checked beside data
	{`{"st\u0061tus":"success","data":[]}`, false},
	{`{"status":"succ\u0065ss","data":[]}`, false},
	{`{"status":7,"data":[]}`, false},
	{`{"status":"success","data":[]} x`, false},
	{`{"status":"success","data":[]`, false},
	{`{"status":"success","data":[]]`, false},
	{`{"status":"success","data":"unterminated}`, false},
	{`{"ſtatus":"success","data":[]}`, false},
	{`{"status":"success" "data":[]}`, false},
	{`[{"status":"success"}]`, false},
	{`{"status":"success","data":[],}`, false},
	{"{\"sta\ttus\":\"success\"}", false},
	{"", false},
	{" \r\n", false},
}

func TestSplitEnvelope(t *testing.T) {
	t.Parallel()
	// 10 000 levels of data are within encoding/json's limit alone, not
	// inside the envelope.
	deep := `{"status":"success","data":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	nested := func(depth int) string {
		return `{"status":"success","data":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
	}
	cases := append(envelopeCases, []struct {
		body  string
		split bool
	}{
		{deep, false},
		{nested(maxSplitDepth), true},
		{nested(maxSplitDepth + 1), false},
		{"{\"~ \":1,\"status\":\"success\",\"data\":[]}", true},
		{"{\"a\x7f\":1,\"status\":\"success\",\"data\":[]}", false},
		{"{\"a\x1f\":1,\"status\":\"success\",\"data\":[]}", false},
		{"{\"status\":\"success\",\"data\":[\"\\\"]\"]}", true},
		{`{"status":"success","data":["a\\\\","b"],"model":"m"}`, true},
	}...)
	for _, c := range cases {
		if got := splitEnvelope([]byte(c.body), new(rawEnvelope)); got != c.split {
			t.Errorf("splitEnvelope(%s) = %v, want %v", c.body, got, c.split)
		}
		fast, whole := decodedBy(decodeSuccess, []byte(c.body)), decodedBy(decodeWhole, []byte(c.body))
		if !reflect.DeepEqual(fast, whole) {
			t.Errorf("body %s:\nsplit: %#v\nwhole: %#v", c.body, fast, whole)
		}
	}
}

// TestSplitEnvelopeParts checks what the split finds: the members the
// decoders read, as parts of the body, the last of a repeated key winning
// as with encoding/json.
func TestSplitEnvelopeParts(t *testing.T) {
	t.Parallel()
	var env rawEnvelope
	body := []byte(`{"message":{"x":[1,"]"]},"Status":"failed","status":"success","data" : [ {"id":"a"} ] ,"total_instance":12,"model":"m-1"}`)
	if !splitEnvelope(body, &env) {
		t.Fatal("not split")
	}
	want := rawEnvelope{Status: "success", Data: []byte(`[ {"id":"a"} ]`), Total: []byte(`12`), Model: []byte(`"m-1"`)}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("got %+v (%s %s %s), want %+v", env, env.Data, env.Total, env.Model, want)
	}
}

// TestSplitEnvelopeRepeatedData: a body whose first data is not JSON is not
// JSON, even when a later data is; a created key in it is not a success.
func TestSplitEnvelopeRepeatedData(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply(http.MethodPost, "/api-keys", ok(`{"status":"success","data":tru,"data":{"id":7,"key":"ak_x","name":"n"}}`))
	key, err := e.client.APIKeys.Create(context.Background(), CreateAPIKeyRequest{Name: "n"})
	if key != nil || !errors.Is(err, ErrUnexpectedResponse) || !strings.Contains(err.Error(), reasonNotJSON) {
		t.Fatalf("got %+v, %v; want ErrUnexpectedResponse: %s", key, err, reasonNotJSON)
	}
}

package nebula

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// The instance examples of the API's docs, verbatim.
const (
	docsInstanceList = `{
    "data": [
        {
            "id": "102cade84ea-e703-4400-b77d-8ed545d198ee",
            "region": "CANADA",
            "product_type": "GPU",
            "host_name": "demo",
            "cpu_cores": 28,
            "ram": 58,
            "gpu_type": "RTX-A6000",
            "gpu_count": 1,
            "disk_size": 100,
            "ephemeral": 1500,
            "public_ipv4": "38.80.81.128",
            "price_per_hour": 0.679,
            "os": "Ubuntu Server 20.04 LTS (Focal Fossa)",
            "status": "Running"
        }
    ],
    "total_instance": 1,
    "message": "All instances retrieved successfully",
    "status": "success"
}`
	docsInstanceDeletedList = `{
    "data": [
        {
            "id": "102cade84ea-e703-4400-b77d-8ed545d198ee",
            "region": "CANADA",
            "product_type": "GPU",
            "host_name": "demo",
            "cpu_cores": 28,
            "ram": 58,
            "gpu_type": "RTX-A6000",
            "gpu_count": 1,
            "disk_size": 100,
            "ephemeral": 1500,
            "public_ipv4": "38.80.81.128",
            "price_per_hour": 0.679,
            "os": "Ubuntu Server 20.04 LTS (Focal Fossa)",
            "status": "Deleted"
        }
    ],
    "total_instance": 1,
    "message": "All deleted instances retrieved successfully",
    "status": "success"
}`
	docsInstanceDetail = `{
    "data": [
        {
            "id": "102cade84ea-e703-4400-b77d-8ed545d198ee",
            "region": "CANADA",
            "product_type": "Virtual Machine",
            "host_name": "demo",
            "cpu_cores": "28",
            "ram": "58",
            "gpu_type": "RTX-A6000",
            "gpu_count": 1,
            "disk_size": 100,
            "public_ipv4": "38.80.81.128",
            "login_method": "",
            "os": "Ubuntu Server 20.04 LTS (Focal Fossa)",
            "exposed_ports": "",
            "vm_name": "demo",
            "vm_password": "qZ3!Xukz=I-Xv_ya",
            "status": "Running",
            "start_time": "EST 2024-11-04 10:11:50",
            "running_time": "0.0000 hours",
            "total_cost": "$0.0000"
        }
    ],
    "message": "Get instance detail successfully",
    "status": "success"
}`
	docsInstanceCreated = `{
    "message": "Instances created successfully",
    "status": "success"
}
`
	docsInstanceDeleted = `{
    "message": "Instances deleted successfully",
    "status": "success"
}
`
	docsInstanceStarted  = `{"message": "Instances started successfully", "status": "success"}`
	docsInstanceStopped  = `{"message": "Instances stopped successfully", "status": "success"}`
	docsInstanceRebooted = `{"message": "Instances rebooted successfully", "status": "success"}`

	docsInstanceID       = "102cade84ea-e703-4400-b77d-8ed545d198ee"
	docsInstancePassword = "qZ3!Xukz=I-Xv_ya"
)

// docsListed is the instance of the docs' list example, written out by hand.
func docsListed(status string) Instance {
	return Instance{
		ID: docsInstanceID, Name: "demo", Status: InstanceStatus(status), Region: "CANADA", ProductType: "GPU",
		CPUCores: 28, RAMGB: 58, GPUType: "RTX-A6000", GPUCount: 1, DiskSizeGB: 100, EphemeralGB: 1500,
		PublicIPv4: "38.80.81.128", PricePerHour: "0.679", OS: "Ubuntu Server 20.04 LTS (Focal Fossa)",
	}
}

// instanceJSON is one list item with the given id, name and status.
func instanceJSON(id, name, status string) string {
	return fmt.Sprintf(`{"id": %q, "region": "CANADA", "product_type": "GPU", "host_name": %q, "cpu_cores": 28,
 "ram": 58, "gpu_type": "RTX-A6000", "gpu_count": 1, "disk_size": 100, "ephemeral": 1500,
 "public_ipv4": "38.80.81.128", "price_per_hour": 0.679, "os": "Ubuntu", "status": %q}`, id, name, status)
}

// listOf is a list answer holding items (JSON objects), with total_instance
// when total >= 0.
func listOf(total int, items ...string) string {
	t := ""
	if total >= 0 {
		t = `"total_instance": ` + strconv.Itoa(total) + `, `
	}
	return `{"data": [` + strings.Join(items, ",") + `], ` + t + `"message": "ok", "status": "success"}`
}

// detailOf is a detail answer holding one instance.
func detailOf(id, status string) string {
	return `{"data": [` + instanceJSON(id, "demo", status) + `], "message": "ok", "status": "success"}`
}

// fastPolls makes Create's and Wait's polling take milliseconds.
func fastPolls(s *InstancesService) {
	s.waitMin, s.waitMax = time.Millisecond, 2*time.Millisecond
	s.createPoll, s.createPollMax, s.createPollTries = time.Millisecond, 2*time.Millisecond, 3
}

// newInstancesEnv is a test environment whose catalog is the docs'
// example, which Create consults before sending.
func newInstancesEnv(t *testing.T, opts ...Option) *testEnv {
	t.Helper()
	e := newTestEnv(t, opts...)
	fastPolls(e.client.Instances)
	e.reply("GET", "/computing/products", ok(docsProducts))
	e.reply("GET", "/computing/images", ok(docsImages))
	return e
}

func TestInstancesListDecodesDocsExample(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path, body, status string
		list                     func(*InstancesService, context.Context, ListOptions, ...CallOption) (*Page[Instance], error)
	}{
		{"List", "/computing/instances", docsInstanceList, "Running", (*InstancesService).List},
		{"ListDeleted", "/computing/deleted-instances", docsInstanceDeletedList, "Deleted", (*InstancesService).ListDeleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			rec := e.reply("GET", tc.path, ok(tc.body))
			page, err := tc.list(e.client.Instances, bg, ListOptions{Limit: 10, Offset: 20})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != 1 || page.Items[0] != docsListed(tc.status) {
				t.Errorf("items %+v", page.Items)
			}
			if page.Total != 1 || page.Next != nil {
				t.Errorf("total %d, next %+v", page.Total, page.Next)
			}
			r := rec.all()[0]
			if r.URL != testBase+tc.path+"?limit=10&offset=20" || r.Body != "" {
				t.Errorf("sent %s with body %q", r.URL, r.Body)
			}
		})
	}
}

func TestInstancesGetDecodesDocsExample(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	rec := e.reply("GET", "/computing/instance/"+docsInstanceID, ok(docsInstanceDetail))
	in, err := e.client.Instances.Get(bg, docsInstanceID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.count() != 1 {
		t.Fatalf("%d requests", rec.count())
	}
	if got := in.Password.Reveal(); got != docsInstancePassword {
		t.Errorf("password %q", got)
	}
	// "EST 2024-11-04 10:11:50" is UTC-5 as labelled.
	if want := time.Date(2024, 11, 4, 15, 11, 50, 0, time.UTC); !in.StartedAt.Equal(want) {
		t.Errorf("started %v, want %v", in.StartedAt, want)
	}
	got := *in
	got.Password, got.StartedAt = Secret{}, time.Time{}
	want := Instance{
		ID: docsInstanceID, Name: "demo", Status: "Running", Region: "CANADA", ProductType: "Virtual Machine",
		CPUCores: 28, RAMGB: 58, GPUType: "RTX-A6000", GPUCount: 1, DiskSizeGB: 100,
		PublicIPv4: "38.80.81.128", OS: "Ubuntu Server 20.04 LTS (Focal Fossa)",
		Username: "demo", RunningTime: 0, TotalCost: "0.0000",
	}
	if got != want {
		t.Errorf("instance\n got %+v\nwant %+v", got, want)
	}
}

func TestInstancesGetReadsDocumentedFieldNames(t *testing.T) {
	t.Parallel()
	// The docs' field list says user_name, password and lan_ipv4; their
	// example says vm_name and vm_password. Both are read, the list's first.
	body := `{"data": [{"id": 7, "host_name": "gpu-1", "user_name": "ubuntu", "vm_name": "gpu-1",
 "password": "pw-from-list-0123456789", "vm_password": "pw-from-example", "lan_ipv4": "10.0.0.7",
 "gpu": "NVIDIA RTX A6000", "login_method": "password", "exposed_ports": "22,8888",
 "start_time": "1730847667", "running_time": "1.5 hours", "total_cost": "1.0185", "price_per_hour": "0.679",
 "status": "Running"}], "status": "success"}`
	e := newInstancesEnv(t)
	e.reply("GET", "/computing/instance/7", ok(body))
	in, err := e.client.Instances.Get(bg, "7")
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != "7" || in.Username != "ubuntu" || in.Password.Reveal() != "pw-from-list-0123456789" ||
		in.LANIPv4 != "10.0.0.7" || in.GPU != "NVIDIA RTX A6000" || in.LoginMethod != "password" ||
		in.ExposedPorts != "22,8888" || in.RunningTime != 90*time.Minute || in.TotalCost != "1.0185" ||
		in.PricePerHour != "0.679" || !in.StartedAt.Equal(time.Unix(1730847667, 0)) {
		t.Errorf("instance %+v", in)
	}
}

func TestInstancePasswordNeverPrints(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	e.reply("GET", "/computing/instance/"+docsInstanceID, ok(docsInstanceDetail))
	in, err := e.client.Instances.Get(bg, docsInstanceID)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{string(js)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, in), fmt.Sprintf(verb, *in))
	}
	for _, out := range outs {
		if strings.Contains(out, docsInstancePassword) || strings.Contains(out, "qZ3!") {
			t.Errorf("password printed: %s", out)
		}
	}
}

func TestInstancesGetAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		answer     answer
		is         error
		apiError   bool
		extraCheck string // a word the error must hold
	}{
		{"empty list", ok(`{"data": [], "message": "ok", "status": "success"}`), ErrNotFound, false, "no such instance"},
		{"null data", ok(`{"data": null, "message": "ok", "status": "success"}`), ErrNotFound, false, "no such instance"},
		{"404", status(404, failedEnvelope("Instance not found")), ErrNotFound, true, "Instance not found"},
		{"no data", ok(`{"message": "ok", "status": "success"}`), ErrUnexpectedResponse, true, "data"},
		{"two instances", ok(`{"data": [` + instanceJSON("1", "a", "Running") + `,` + instanceJSON("2", "b", "Running") + `], "status": "success"}`), ErrUnexpectedResponse, true, "2 instances"},
		{"no id", ok(`{"data": [{"host_name": "a", "status": "Running"}], "status": "success"}`), ErrUnexpectedResponse, true, "id"},
		{"data an object", ok(`{"data": {"id": "1"}, "status": "success"}`), ErrUnexpectedResponse, true, "envelope"},
		{"bad time", ok(`{"data": [{"id": "1", "start_time": "yesterday"}], "status": "success"}`), ErrUnexpectedResponse, true, ""},
		{"bad running time", ok(`{"data": [{"id": "1", "running_time": "a while"}], "status": "success"}`), ErrUnexpectedResponse, true, ""},
		{"bad cpu cores", ok(`{"data": [{"id": "1", "cpu_cores": "many"}], "status": "success"}`), ErrUnexpectedResponse, true, ""},
		{"bad price", ok(`{"data": [{"id": "1", "price_per_hour": "cheap"}], "status": "success"}`), ErrUnexpectedResponse, true, ""},
		{"failed envelope", ok(failedEnvelope("Instance does not belong to user")), nil, true, "does not belong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			e.reply("GET", "/computing/instance/5", tc.answer)
			in, err := e.client.Instances.Get(bg, "5")
			if err == nil || in != nil {
				t.Fatalf("instance %+v, err %v", in, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) != tc.apiError {
				t.Errorf("error %v: *APIError %v, want %v", err, !tc.apiError, tc.apiError)
			}
			if !strings.Contains(err.Error(), tc.extraCheck) {
				t.Errorf("error %q does not say %q", err, tc.extraCheck)
			}
		})
	}
}

func TestInstancesBadIDSendsNothing(t *testing.T) {
	t.Parallel()
	calls := map[string]func(*InstancesService, ID) error{
		"Get":    func(s *InstancesService, id ID) error { _, err := s.Get(bg, id); return err },
		"Start":  func(s *InstancesService, id ID) error { return s.Start(bg, id) },
		"Stop":   func(s *InstancesService, id ID) error { return s.Stop(bg, id) },
		"Reboot": func(s *InstancesService, id ID) error { return s.Reboot(bg, id) },
		"Delete": func(s *InstancesService, id ID) error { return s.Delete(bg, id) },
		"Wait":   func(s *InstancesService, id ID) error { _, err := s.Wait(bg, id, "Running"); return err },
	}
	ids := []ID{"", "  ", ".", "..", "a\nb", testToken, ID(docsLoginJWT)}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			rec := e.anyRequest(ok(detailOf("1", "Running")))
			for _, id := range ids {
				err := call(e.client.Instances, id)
				if !errors.Is(err, ErrInvalidArgument) {
					t.Errorf("%s(%q): %v", name, id, err)
				}
				if err != nil && (strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "eyJ")) {
					t.Errorf("%s: error quotes a credential: %v", name, err)
				}
			}
			if n := rec.count(); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestInstancesNilContext(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	rec := e.anyRequest(ok(listOf(0)))
	s := e.client.Instances
	var nilCtx context.Context
	_, errCreate := s.Create(nilCtx, CreateInstanceRequest{Name: "a", ProductID: "p", ImageID: "i", SSHKeyID: "2"})
	_, errLookup := s.Lookup(nilCtx, "a")
	_, errGet := s.Get(nilCtx, "1")
	_, errList := s.List(nilCtx, ListOptions{})
	_, errWait := s.Wait(nilCtx, "1", "Running")
	errStart := s.Start(nilCtx, "1")
	for i, err := range []error{errCreate, errLookup, errGet, errList, errWait, errStart} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if rec.count() != 0 {
		t.Errorf("%d requests sent", rec.count())
	}
}

func TestInstancesActions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, path, body string
		call                     func(*InstancesService, context.Context, ID, ...CallOption) error
	}{
		{"Start", "GET", "/computing/instance/5/start", docsInstanceStarted, (*InstancesService).Start},
		{"Stop", "GET", "/computing/instance/5/stop", docsInstanceStopped, (*InstancesService).Stop},
		{"Reboot", "GET", "/computing/instance/5/reboot", docsInstanceRebooted, (*InstancesService).Reboot},
		{"Delete", "DELETE", "/computing/instance/5", docsInstanceDeleted, (*InstancesService).Delete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for name, a := range map[string]answer{
				"docs":      ok(tc.body),
				"empty 200": ok(""),
				"with data": ok(`{"data": {"id": 5}, "message": "done", "status": "success"}`),
				"null data": ok(`{"data": null, "message": "done", "status": "success"}`),
			} {
				e := newInstancesEnv(t)
				rec := e.reply(tc.method, tc.path, a)
				if err := tc.call(e.client.Instances, bg, "5"); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if rec.count() != 1 {
					t.Errorf("%s: %d requests", name, rec.count())
				}
			}

			// Repeatable: a 502 and a dropped connection are retried.
			e := newInstancesEnv(t)
			rec := e.reply(tc.method, tc.path, status(502, "Bad Gateway"), answer{err: errors.New("connection reset by peer")}, ok(tc.body))
			if err := tc.call(e.client.Instances, bg, "5"); err != nil {
				t.Fatal(err)
			}
			if rec.count() != 3 {
				t.Errorf("%d requests, want 3", rec.count())
			}

			// A failed envelope is an *APIError.
			e = newInstancesEnv(t)
			e.reply(tc.method, tc.path, status(400, failedEnvelope("Instance is not stopped")))
			err := tc.call(e.client.Instances, bg, "5")
			var apiErr *APIError
			if !errors.As(err, &apiErr) || !errors.Is(err, ErrBadRequest) || apiErr.Message != "Instance is not stopped" {
				t.Errorf("error %v", err)
			}
		})
	}
}

func TestInstancesDeleteGone(t *testing.T) {
	t.Parallel()
	// 404 after an attempt that may have deleted it: gone either way.
	e := newInstancesEnv(t)
	rec := e.reply("DELETE", "/computing/instance/5", status(502, "Bad Gateway"), status(404, failedEnvelope("Instance not found")))
	if err := e.client.Instances.Delete(bg, "5"); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 2 {
		t.Errorf("%d requests", rec.count())
	}
	// 404 at once: there was no such instance.
	e = newInstancesEnv(t)
	e.reply("DELETE", "/computing/instance/5", status(404, failedEnvelope("Instance not found")))
	if err := e.client.Instances.Delete(bg, "5"); !errors.Is(err, ErrNotFound) {
		t.Errorf("error %v", err)
	}
}

func TestInstancesListOptions(t *testing.T) {
	t.Parallel()
	for _, opts := range []ListOptions{{Limit: -1}, {Offset: -1}} {
		e := newInstancesEnv(t)
		rec := e.anyRequest(ok(listOf(0)))
		if _, err := e.client.Instances.List(bg, opts); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("List(%+v): %v", opts, err)
		}
		if _, err := e.client.Instances.ListDeleted(bg, opts); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ListDeleted(%+v): %v", opts, err)
		}
		if rec.count() != 0 {
			t.Errorf("%d requests", rec.count())
		}
	}

	e := newInstancesEnv(t)
	rec := e.reply("GET", "/computing/instances", ok(listOf(-1)))
	page, err := e.client.Instances.List(bg, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := rec.all()[0].URL; u != testBase+"/computing/instances" {
		t.Errorf("URL %s", u)
	}
	if len(page.Items) != 0 || page.Next != nil {
		t.Errorf("page %+v", page)
	}
}

func TestInstancesListTotalAsString(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	e.reply("GET", "/computing/instances", ok(`{"data": [`+instanceJSON("1", "a", "Running")+`], "total_instance": "3", "status": "success"}`))
	page, err := e.client.Instances.List(bg, ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 3 || page.Next == nil || *page.Next != (ListOptions{Limit: 1, Offset: 1}) {
		t.Errorf("total %d next %+v", page.Total, page.Next)
	}
}

func TestInstancesListRetriedAndFailed(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	rec := e.reply("GET", "/computing/instances", status(503, ""), ok(docsInstanceList))
	page, err := e.client.Instances.List(bg, ListOptions{})
	if err != nil || len(page.Items) != 1 || rec.count() != 2 {
		t.Fatalf("page %+v, err %v, %d requests", page, err, rec.count())
	}

	e = newInstancesEnv(t)
	e.reply("GET", "/computing/instances", ok(`{"data": [{"host_name": "no id"}], "status": "success"}`))
	if _, err := e.client.Instances.List(bg, ListOptions{}); !errors.Is(err, ErrUnexpectedResponse) {
		t.Errorf("item without id: %v", err)
	}
}

// pagedInstances answers the instance list from n instances named
// "vm-<i>", honouring limit and offset, with or without total_instance.
func pagedInstances(n int, withTotal bool, rec *recorder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		rec.add(req)
		q := req.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		offset, _ := strconv.Atoi(q.Get("offset"))
		if limit == 0 {
			limit = 100
		}
		var items []string
		for i := offset; i < min(n, offset+limit); i++ {
			items = append(items, instanceJSON(strconv.Itoa(i+1), "vm-"+strconv.Itoa(i), "Running"))
		}
		total := -1
		if withTotal {
			total = n
		}
		return httpmock.NewStringResponse(200, listOf(total, items...)), nil
	}
}

func TestInstancesAllPages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n         int
		withTotal bool
		requests  int
	}{
		{0, true, 1}, {150, true, 2}, {200, true, 2},
		// Without a total, a page shorter than the limit is the last.
		{103, false, 2}, {200, false, 3},
	} {
		t.Run(fmt.Sprint(tc.n, tc.withTotal), func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			rec := &recorder{}
			e.mock.RegisterResponder("GET", testBase+"/computing/instances", pagedInstances(tc.n, tc.withTotal, rec))
			seen := 0
			for in, err := range e.client.Instances.All(bg) {
				if err != nil {
					t.Fatal(err)
				}
				if in.Name != "vm-"+strconv.Itoa(seen) {
					t.Fatalf("item %d is %q", seen, in.Name)
				}
				seen++
			}
			if seen != tc.n || rec.count() != tc.requests {
				t.Errorf("%d instances in %d requests, want %d in %d", seen, rec.count(), tc.n, tc.requests)
			}
		})
	}
}

func TestInstancesLookup(t *testing.T) {
	t.Parallel()
	list := listOf(5,
		instanceJSON("1", "web", "Running"),
		instanceJSON("2", "old", "Deleting"),
		instanceJSON("3", "twin", "Running"),
		instanceJSON("4", "twin", "Stopped"),
		instanceJSON("5", "old", "deleted"),
	)
	for _, tc := range []struct {
		name   string
		wantID ID
		is     error
	}{
		{"web", "1", nil},
		{"Web", "", ErrNotFound}, // names are compared exactly
		{"old", "", ErrNotFound}, // being or already deleted: not active
		{"twin", "", ErrConflict},
		{"nobody", "", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			e.reply("GET", "/computing/instances", ok(list))
			in, err := e.client.Instances.Lookup(bg, tc.name)
			if tc.is != nil {
				var apiErr *APIError
				if !errors.Is(err, tc.is) || errors.As(err, &apiErr) || in != nil {
					t.Errorf("instance %+v, error %v, want %v (no *APIError)", in, err, tc.is)
				}
				return
			}
			if err != nil || in.ID != tc.wantID {
				t.Errorf("instance %+v, error %v", in, err)
			}
		})
	}

	e := newInstancesEnv(t)
	rec := e.anyRequest(ok(list))
	for _, name := range []string{"", " \t", "a\x00b"} {
		if _, err := e.client.Instances.Lookup(bg, name); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Lookup(%q): %v", name, err)
		}
	}
	if rec.count() != 0 {
		t.Errorf("%d requests", rec.count())
	}

	e = newInstancesEnv(t)
	e.reply("GET", "/computing/instances", status(401, failedEnvelope("Invalid token")))
	if _, err := e.client.Instances.Lookup(bg, "web"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Lookup on 401: %v", err)
	}
}

// validCreate is the docs' create request.
func validCreate() CreateInstanceRequest {
	return CreateInstanceRequest{
		Name: "testname", ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: "2",
	}
}

func TestInstancesCreateSendsDocumentedRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sshKey ID
		want   string
	}{
		{"2", `{"instance_name":"testname","product_id":"fcp66d566c43a9501001256","image_id":"fcp66d566c93a95010012","ssh_key_id":2}`},
		{"9a4d7961-3274-4479-a20b-10f57f9bc75a", `{"instance_name":"testname","product_id":"fcp66d566c43a9501001256","image_id":"fcp66d566c93a95010012","ssh_key_id":"9a4d7961-3274-4479-a20b-10f57f9bc75a"}`},
		{"007", `{"instance_name":"testname","product_id":"fcp66d566c43a9501001256","image_id":"fcp66d566c93a95010012","ssh_key_id":"007"}`},
	} {
		t.Run(string(tc.sshKey), func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			var order []string
			var mu sync.Mutex
			note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
			lists := 0
			e.mock.RegisterResponder("GET", testBase+"/computing/instances", func(req *http.Request) (*http.Response, error) {
				note("list")
				mu.Lock()
				lists++
				n := lists
				mu.Unlock()
				if n == 1 { // before the create
					return httpmock.NewStringResponse(200, listOf(1, instanceJSON("1", "other", "Running"))), nil
				}
				return httpmock.NewStringResponse(200, listOf(2, instanceJSON("1", "other", "Running"), instanceJSON("9", "testname", "Creating"))), nil
			})
			rec := &recorder{}
			e.mock.RegisterResponder("POST", testBase+"/computing/instance", func(req *http.Request) (*http.Response, error) {
				note("create")
				rec.add(req)
				return httpmock.NewStringResponse(200, docsInstanceCreated), nil
			})
			req := validCreate()
			req.SSHKeyID = tc.sshKey
			in, err := e.client.Instances.Create(bg, req)
			if err != nil {
				t.Fatal(err)
			}
			if in.ID != "9" || in.Name != "testname" || in.Status != "Creating" {
				t.Errorf("instance %+v", in)
			}
			if got := strings.Join(order, ","); got != "list,create,list" {
				t.Errorf("requests %s", got)
			}
			r := rec.all()[0]
			if r.Body != tc.want || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("body %s (%s)", r.Body, r.Header.Get("Content-Type"))
			}
		})
	}
}

func TestInstancesCreateBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	with := func(f func(*CreateInstanceRequest)) CreateInstanceRequest {
		r := validCreate()
		f(&r)
		return r
	}
	cases := map[string]CreateInstanceRequest{
		"empty name":      with(func(r *CreateInstanceRequest) { r.Name = "" }),
		"blank name":      with(func(r *CreateInstanceRequest) { r.Name = " \t" }),
		"newline in name": with(func(r *CreateInstanceRequest) { r.Name = "a\nb" }),
		"no product":      with(func(r *CreateInstanceRequest) { r.ProductID = "" }),
		"blank image":     with(func(r *CreateInstanceRequest) { r.ImageID = "  " }),
		"no SSH key":      with(func(r *CreateInstanceRequest) { r.SSHKeyID = "" }),
		"key as SSH key":  with(func(r *CreateInstanceRequest) { r.SSHKeyID = testToken }),
		"control in ID":   with(func(r *CreateInstanceRequest) { r.ProductID = "p\x01" }),
		"zero request":    {},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			rec := e.anyRequest(ok(listOf(0)))
			in, err := e.client.Instances.Create(bg, req)
			if !errors.Is(err, ErrInvalidArgument) || in != nil {
				t.Errorf("instance %+v, error %v", in, err)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error quotes the key: %v", err)
			}
			if rec.count() != 0 {
				t.Errorf("%d requests", rec.count())
			}
		})
	}
}

func TestInstancesCreateRefusesActiveName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status   string
		conflict bool
	}{
		{"Running", true}, {"Creating", true}, {"Stopped", true}, {"Error", true},
		{"Deleting", false}, {"Deleted", false},
	} {
		t.Run(tc.status, func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			e.reply("GET", "/computing/instances",
				ok(listOf(1, instanceJSON("1", "testname", tc.status))),
				ok(listOf(2, instanceJSON("1", "testname", tc.status), instanceJSON("2", "testname", "Creating"))))
			posts := e.reply("POST", "/computing/instance", ok(docsInstanceCreated))
			in, err := e.client.Instances.Create(bg, validCreate())
			if !tc.conflict {
				if err != nil || in.ID != "2" || posts.count() != 1 {
					t.Errorf("instance %+v, error %v, %d creates", in, err, posts.count())
				}
				return
			}
			var apiErr *APIError
			if !errors.Is(err, ErrConflict) || errors.As(err, &apiErr) || in != nil {
				t.Errorf("instance %+v, error %v", in, err)
			}
			if err != nil && !strings.Contains(err.Error(), "nothing was created") {
				t.Errorf("error %q", err)
			}
			if posts.count() != 0 {
				t.Errorf("%d creates sent", posts.count())
			}
		})
	}
}

func TestInstancesCreateNameCheckFails(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	lists := e.reply("GET", "/computing/instances", status(500, "oops"))
	posts := e.reply("POST", "/computing/instance", ok(docsInstanceCreated))
	_, err := e.client.Instances.Create(bg, validCreate())
	if !errors.Is(err, ErrServerError) || errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "nothing was created") {
		t.Errorf("error %v", err)
	}
	if posts.count() != 0 || lists.count() != 4 {
		t.Errorf("%d creates, %d lists (the read is retried)", posts.count(), lists.count())
	}
}

// A create whose answer is lost after it may have left (a 502 or 504 from a
// proxy, a connection lost) is sent once; Create then looks for the
// instance as after a success. Found, it is the call's result; not found,
// the outcome stays unknown, with the create's own error. Before, Create returned ErrOutcomeUnknown at once,
// even when the instance was there to be found.
func TestInstancesCreateAnswerLost(t *testing.T) {
	t.Parallel()
	for name, a := range map[string]answer{
		"502":             status(502, "<html><title>502 Bad Gateway</title></html>"),
		"504":             status(504, ""),
		"connection lost": {err: errors.New("read: connection reset by peer")},
	} {
		t.Run(name+"/created", func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			lists := e.reply("GET", "/computing/instances",
				ok(listOf(0)),
				ok(listOf(1, instanceJSON("9", "testname", "Creating"))))
			posts := e.reply("POST", "/computing/instance", a)
			in, err := e.client.Instances.Create(bg, validCreate())
			if err != nil || in == nil || in.ID != "9" {
				t.Fatalf("instance %+v, error %v; want instance 9", in, err)
			}
			if posts.count() != 1 || lists.count() != 2 {
				t.Errorf("%d creates, %d lists; want 1 and 2 (the name check, one look)", posts.count(), lists.count())
			}
		})
		t.Run(name+"/not created", func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			lists := e.reply("GET", "/computing/instances", ok(listOf(0)))
			posts := e.reply("POST", "/computing/instance", a)
			in, err := e.client.Instances.Create(bg, validCreate())
			var nl *InstanceNotListedError
			if !errors.Is(err, ErrOutcomeUnknown) || in != nil || errors.As(err, &nl) {
				t.Fatalf("instance %+v, error %v; want the create's ErrOutcomeUnknown", in, err)
			}
			if !strings.HasPrefix(err.Error(), "nebula: Instances.Create: POST /computing/instance") {
				t.Errorf("error %q does not name the create", err)
			}
			// fastPolls: three looks after the name check
			if posts.count() != 1 || lists.count() != 4 {
				t.Errorf("%d creates, %d lists; want 1 and 4", posts.count(), lists.count())
			}
		})
	}
}

// When the caller's context has ended, Create does not look: it returns the
// create's error at once.
func TestInstancesCreateAnswerLostAfterContextEnded(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	lists := e.reply("GET", "/computing/instances", ok(listOf(0)))
	var posts atomic.Int32
	e.mock.RegisterResponder("POST", testBase+"/computing/instance", func(req *http.Request) (*http.Response, error) {
		posts.Add(1)
		cancel() // the caller gives up while the create is answered
		return status(504, "").response(req)
	})
	in, err := e.client.Instances.Create(ctx, validCreate())
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) || in != nil {
		t.Fatalf("instance %+v, error %v; want ErrOutcomeUnknown and context.Canceled", in, err)
	}
	if posts.Load() != 1 || lists.count() != 1 {
		t.Errorf("%d creates, %d lists; want 1 and 1", posts.Load(), lists.count())
	}
}

// The looks after a lost answer end after twice the schedule's span, or
// lostLooksMin when that is longer.
func TestLostLooksBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(*InstancesService)
		want  time.Duration
	}{
		{"defaults", func(*InstancesService) {}, 15 * time.Second}, // 2 × (0.5+1+2+4 s)
		{"a schedule of milliseconds", fastPolls, 5 * time.Second},
		{"a longer schedule", func(s *InstancesService) {
			s.createPoll, s.createPollMax, s.createPollTries = 2*time.Second, 8*time.Second, 4
		}, 28 * time.Second},
		{"lostLooksMin set", func(s *InstancesService) { fastPolls(s); s.lostLooksMin = 20 * time.Millisecond }, 20 * time.Millisecond},
	} {
		s := &InstancesService{}
		tc.setup(s)
		if got := s.lostLooksBudget(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// When the caller's context ends while Create looks after a lost answer,
// the error says so beside the create's own.
func TestInstancesCreateAnswerLostContextEndsWhileLooking(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	survey := make(chan struct{}, 1)
	survey <- struct{}{}
	e.mock.RegisterResponder("GET", testBase+"/computing/instances", func(req *http.Request) (*http.Response, error) {
		select {
		case <-survey:
		default:
			cancel() // the first look: the caller gives up
		}
		return ok(listOf(0)).response(req)
	})
	e.reply("POST", "/computing/instance", status(502, ""))
	in, err := e.client.Instances.Create(ctx, validCreate())
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) || in != nil {
		t.Fatalf("instance %+v, error %v; want ErrOutcomeUnknown and context.Canceled", in, err)
	}
}

// The looks after a lost answer are single attempts: an API that failed the
// create often fails the lists too, and must not get each look's retries.
// Several new instances of the name are said, not dropped. They were: the
// looks were retried like any List (13 lists here), and the ambiguity lost.
func TestInstancesCreateAnswerLostLooks(t *testing.T) {
	t.Parallel()
	t.Run("lists failing", func(t *testing.T) {
		t.Parallel()
		e := newInstancesEnv(t)
		lists := e.reply("GET", "/computing/instances", ok(listOf(0)), status(503, ""))
		posts := e.reply("POST", "/computing/instance", status(504, ""))
		in, err := e.client.Instances.Create(bg, validCreate())
		if !errors.Is(err, ErrOutcomeUnknown) || in != nil || strings.Contains(err.Error(), "then") {
			t.Fatalf("instance %+v, error %v; want the create's ErrOutcomeUnknown alone", in, err)
		}
		if posts.count() != 1 || lists.count() != 4 {
			t.Errorf("%d creates, %d lists; want 1 and 4 (the name check, three single looks)", posts.count(), lists.count())
		}
	})
	t.Run("several new", func(t *testing.T) {
		t.Parallel()
		e := newInstancesEnv(t)
		e.reply("GET", "/computing/instances", ok(listOf(0)),
			ok(listOf(2, instanceJSON("8", "testname", "Creating"), instanceJSON("9", "testname", "Creating"))))
		e.reply("POST", "/computing/instance", status(502, ""))
		in, err := e.client.Instances.Create(bg, validCreate())
		if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || in != nil ||
			!strings.Contains(err.Error(), "several new active instances") {
			t.Fatalf("instance %+v, error %v", in, err)
		}
	})
	t.Run("lists hanging", func(t *testing.T) {
		t.Parallel()
		e := newInstancesEnv(t)
		e.client.Instances.lostLooksMin = 20 * time.Millisecond
		survey := make(chan struct{}, 1)
		survey <- struct{}{}
		e.mock.RegisterResponder("GET", testBase+"/computing/instances", func(req *http.Request) (*http.Response, error) {
			select {
			case <-survey:
				return ok(listOf(0)).response(req)
			default:
			}
			<-req.Context().Done() // a look that never gets an answer
			return nil, req.Context().Err()
		})
		e.reply("POST", "/computing/instance", status(504, ""))
		// Without their own bound, the looks would run into this one.
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		start := time.Now()
		in, err := e.client.Instances.Create(ctx, validCreate())
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Create took %v: the looks (20 ms at least here) were not bounded", took)
		}
		if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, context.DeadlineExceeded) || in != nil || strings.Contains(err.Error(), "then") {
			t.Fatalf("instance %+v, error %v; want the create's ErrOutcomeUnknown alone", in, err)
		}
	})
}

func TestInstancesCreateRefused(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	lists := e.reply("GET", "/computing/instances", ok(listOf(0)))
	posts := e.reply("POST", "/computing/instance", status(400, failedEnvelope("image_id and product_id are not in the same region")))
	_, err := e.client.Instances.Create(bg, validCreate())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, ErrBadRequest) || errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("error %v", err)
	}
	if posts.count() != 1 || lists.count() != 1 {
		t.Errorf("%d creates, %d lists", posts.count(), lists.count())
	}
}

func TestInstancesCreateHangUpIsSentOnce(t *testing.T) {
	t.Parallel()
	var posts, lists atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v1/computing/products":
			w.Write([]byte(docsProducts))
			return
		case r.URL.Path == "/api/v1/computing/images":
			w.Write([]byte(docsImages))
			return
		case r.Method == http.MethodGet:
			lists.Add(1)
			w.Write([]byte(listOf(0)))
			return
		}
		posts.Add(1)
		// Read the create, then hang up without an answer.
		buf := make([]byte, 512)
		r.Body.Read(buf)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}))
	defer srv.Close()
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api/v1"), WithRetryWait(time.Millisecond, 5*time.Millisecond), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	fastPolls(c.Instances)
	in, err := c.Instances.Create(bg, validCreate())
	if !errors.Is(err, ErrOutcomeUnknown) || in != nil {
		t.Errorf("instance %+v, error %v", in, err)
	}
	// the name check, then Create's three looks for the instance
	if posts.Load() != 1 || lists.Load() != 4 {
		t.Errorf("%d creates, %d lists", posts.Load(), lists.Load())
	}
}

func TestInstancesCreateNotListed(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	lists := e.reply("GET", "/computing/instances", ok(listOf(0)))
	posts := e.reply("POST", "/computing/instance", ok(docsInstanceCreated))
	in, err := e.client.Instances.Create(bg, validCreate())
	var nl *InstanceNotListedError
	if !errors.As(err, &nl) || in != nil {
		t.Fatalf("instance %+v, error %v", in, err)
	}
	// It matches ErrOutcomeUnknown: the caller does not hold the instance
	// and must Lookup before creating again.
	if nl.Name != "testname" || !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrConflict) {
		t.Errorf("error %v", err)
	}
	if !strings.Contains(err.Error(), "created") || !strings.Contains(err.Error(), "Lookup") {
		t.Errorf("error %q does not say what happened", err)
	}
	// One check before the create, then createPollTries lookups.
	if posts.count() != 1 || lists.count() != 1+3 {
		t.Errorf("%d creates, %d lists", posts.count(), lists.count())
	}
}

func TestInstancesCreateListedTwice(t *testing.T) {
	t.Parallel()
	// Another program created the same name between the check and the create.
	e := newInstancesEnv(t)
	e.reply("GET", "/computing/instances", ok(listOf(0)),
		ok(listOf(2, instanceJSON("8", "testname", "Creating"), instanceJSON("9", "testname", "Creating"))))
	e.reply("POST", "/computing/instance", ok(docsInstanceCreated))
	in, err := e.client.Instances.Create(bg, validCreate())
	var nl *InstanceNotListedError
	if !errors.As(err, &nl) || in != nil || errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "several") {
		t.Errorf("instance %+v, error %v", in, err)
	}
}

func TestInstancesCreateListedLate(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	lists := e.reply("GET", "/computing/instances",
		ok(listOf(0)), ok(listOf(0)), status(503, ""), status(503, ""), status(503, ""), status(503, ""),
		ok(listOf(1, instanceJSON("9", "testname", "Creating"))))
	e.reply("POST", "/computing/instance", ok(docsInstanceCreated))
	in, err := e.client.Instances.Create(bg, validCreate())
	if err != nil || in.ID != "9" {
		t.Fatalf("instance %+v, error %v", in, err)
	}
	// Check, empty, four 503s (one lookup of four attempts), found.
	if lists.count() != 7 {
		t.Errorf("%d lists", lists.count())
	}
}

func TestInstancesCreateContextEndsWhileLooking(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	s := e.client.Instances
	s.createPoll, s.createPollMax, s.createPollTries = time.Hour, time.Hour, 5
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	lists := 0
	var mu sync.Mutex
	e.mock.RegisterResponder("GET", testBase+"/computing/instances", func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		lists++
		if lists == 2 { // the first lookup after the create
			cancel()
		}
		mu.Unlock()
		return httpmock.NewStringResponse(200, listOf(0)), nil
	})
	e.reply("POST", "/computing/instance", ok(docsInstanceCreated))
	_, err := s.Create(ctx, validCreate())
	var nl *InstanceNotListedError
	if !errors.As(err, &nl) || !errors.Is(err, context.Canceled) {
		t.Errorf("error %v", err)
	}
}

// statusSequence answers the detail of instance 5 with the given statuses
// in turn, repeating the last; polled receives each request's index.
func statusSequence(e *testEnv, polled chan<- int, statuses ...string) {
	var mu sync.Mutex
	n := 0
	e.mock.RegisterResponder("GET", testBase+"/computing/instance/5", func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if polled != nil {
			polled <- i
		}
		return httpmock.NewStringResponse(200, detailOf("5", statuses[min(i, len(statuses)-1)])), nil
	})
}

func TestInstancesWait(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		want     InstanceStatus
		statuses []string
		polls    int
		ended    InstanceStatus // the status of an *InstanceStatusError, "" for success
	}{
		{"boot", "Running", []string{"Creating", "Creating", "Running"}, 3, ""},
		{"case-insensitive", "running", []string{"Creating", "RUNNING"}, 2, ""},
		{"at once", "Running", []string{"Running"}, 1, ""},
		{"start a stopped one", "Running", []string{"Stopped", "Starting", "Running"}, 3, ""},
		{"stop", "Stopped", []string{"Running", "Stopping", "Stopped"}, 3, ""},
		{"reboot", "Running", []string{"Rebooting", "Running"}, 2, ""},
		{"unknown status waits", "Running", []string{"Provisioning", "Running"}, 2, ""},
		{"delete", "Deleted", []string{"Running", "Deleting", "Deleted"}, 3, ""},
		{"error while booting", "Running", []string{"Creating", "Error"}, 2, "Error"},
		{"failed", "Running", []string{"Failed"}, 1, "Failed"},
		{"deleting", "Stopped", []string{"Running", "Deleting"}, 2, "Deleting"},
		{"deleted", "Stopped", []string{"Deleted"}, 1, "Deleted"},
		{"deleted when error wanted", "Error", []string{"Deleted"}, 1, "Deleted"},
		{"error may be deleted", "Deleted", []string{"Error", "Deleting", "Deleted"}, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			statusSequence(e, nil, tc.statuses...)
			in, err := e.client.Instances.Wait(bg, "5", tc.want)
			polls := e.mock.GetCallCountInfo()["GET "+testBase+"/computing/instance/5"]
			if polls != tc.polls {
				t.Errorf("%d polls, want %d", polls, tc.polls)
			}
			if tc.ended == "" && tc.want.Is(StatusDeleted) {
				if err != nil || in != nil {
					t.Errorf("waiting for Deleted: instance %+v, error %v; want (nil, nil)", in, err)
				}
				return
			}
			if tc.ended == "" {
				if err != nil || !in.Status.Is(tc.want) || in.ID != "5" {
					t.Errorf("instance %+v, error %v", in, err)
				}
				return
			}
			var se *InstanceStatusError
			if !errors.As(err, &se) || se.Status != tc.ended || !se.Want.Is(tc.want) || se.ID != "5" {
				t.Fatalf("error %v", err)
			}
			if in == nil || in.Status != tc.ended {
				t.Errorf("instance %+v", in)
			}
			if !strings.Contains(err.Error(), strconv.Quote(string(tc.ended))) {
				t.Errorf("error %q does not name the status", err)
			}
		})
	}
}

func TestInstancesWaitContextEnds(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	e.client.Instances.waitMin, e.client.Instances.waitMax = time.Hour, time.Hour
	statusSequence(e, nil, "Creating")
	ctx, cancel := context.WithCancel(bg)
	// Cancel once Wait has seen "Creating" (its progress), not when the
	// responder runs: cancelling then can end the Get itself, before any
	// status was seen, which flaked under load.
	seen := make(chan struct{}, 1)
	progress := WithProgress(func(Instance) { seen <- struct{}{} })
	done := make(chan error, 1)
	go func() {
		_, err := e.client.Instances.Wait(ctx, "5", "Running", progress)
		done <- err
	}()
	<-seen
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `"Creating"`) {
		t.Errorf("error %v", err)
	}
}

func TestInstancesWaitErrors(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	rec := e.anyRequest(ok(detailOf("5", "Running")))
	for _, st := range []InstanceStatus{"", "  ", "Run\nning", "Runing", "Failed"} {
		if _, err := e.client.Instances.Wait(bg, "5", st); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Wait(%q): %v", st, err)
		}
	}
	if rec.count() != 0 {
		t.Errorf("%d requests", rec.count())
	}

	// An error of Get ends the wait, with the last status seen.
	e = newInstancesEnv(t)
	e.reply("GET", "/computing/instance/5", ok(detailOf("5", "Creating")), ok(`{"data": [], "status": "success"}`))
	in, err := e.client.Instances.Wait(bg, "5", "Running")
	if !errors.Is(err, ErrNotFound) || in != nil || !strings.Contains(err.Error(), `"Creating"`) {
		t.Errorf("instance %+v, error %v", in, err)
	}

	// Waiting for Deleted, the instance's absence is the goal: (nil, nil).
	for _, gone := range []answer{ok(`{"data": [], "status": "success"}`), status(404, failedEnvelope("Instance not found"))} {
		e = newInstancesEnv(t)
		e.reply("GET", "/computing/instance/5", ok(detailOf("5", "Deleting")), gone)
		in, err = e.client.Instances.Wait(bg, "5", StatusDeleted)
		if err != nil || in != nil {
			t.Errorf("gone: instance %+v, error %v; want (nil, nil)", in, err)
		}
	}

	e = newInstancesEnv(t)
	e.reply("GET", "/computing/instance/5", status(403, failedEnvelope("Forbidden")))
	if _, err := e.client.Instances.Wait(bg, "5", "Running"); !errors.Is(err, ErrForbidden) {
		t.Errorf("error %v", err)
	}
}

func TestCanBecome(t *testing.T) {
	t.Parallel()
	statuses := []string{"Creating", "Starting", "Running", "Stopping", "Stopped", "Rebooting", "Error", "Failed", "Deleting", "Deleted", "Whatever"}
	dead := map[string][]string{ // the only statuses each dead end may still become
		"error":    {"deleting", "deleted"},
		"failed":   {"deleting", "deleted"},
		"deleting": {"deleted"},
		"deleted":  {},
	}
	for _, from := range statuses {
		for _, to := range statuses {
			want := true
			if allowed, ok := dead[strings.ToLower(from)]; ok {
				want = false
				for _, a := range allowed {
					want = want || a == strings.ToLower(to)
				}
			}
			for _, f := range []string{from, strings.ToUpper(from)} {
				if got := canBecome(InstanceStatus(f), InstanceStatus(to)); got != want {
					t.Errorf("canBecome(%q, %q) = %v", f, to, got)
				}
			}
		}
	}
}

func TestRunningTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		`"0.0000 hours"`: 0,
		`"1.5 hours"`:    90 * time.Minute,
		`"1 hour"`:       time.Hour,
		`"2h"`:           2 * time.Hour,
		`" 0.25 "`:       15 * time.Minute,
		`3`:              3 * time.Hour,
		`""`:             0,
		`null`:           0,
	} {
		var rt runningTime
		if err := json.Unmarshal([]byte(in), &rt); err != nil || time.Duration(rt) != want {
			t.Errorf("%s: %v, %v; want %v", in, time.Duration(rt), err, want)
		}
	}
	for _, in := range []string{`"a while"`, `"-1 hours"`, `"1 day"`, `true`, `{}`, `"1e300 hours"`, `"NaN hours"`} {
		var rt runningTime
		if err := json.Unmarshal([]byte(in), &rt); !errors.Is(err, ErrUnexpectedResponse) {
			t.Errorf("%s: %v, %v", in, time.Duration(rt), err)
		}
	}
}

func TestInstancesCreateRefusesProductAndImageFromDifferentDataCentres(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, image string
		refused     bool
	}{
		{"same data centre", "fcp66d566c93a95010012", false},
		{"same region, other data centre", "exoscee6e762-1d11-4f65-a7d6-8c0670b603b2", true},
		{"other region", "exos60da1d80-a58b-4ff3-8a33-b566b65f3e6e", true},
		{"not in the catalog: the API decides", "img-unknown", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newInstancesEnv(t)
			e.reply("GET", "/computing/instances", ok(listOf(0)), ok(`{"data": [`+instanceJSON("7", "testname", "Creating")+`], "total_instance": 1, "status": "success"}`))
			posts := e.reply("POST", "/computing/instance", ok(`{"message": "ok", "status": "success"}`))
			req := validCreate()
			req.ImageID = tc.image
			_, err := e.client.Instances.Create(bg, req)
			if refused := errors.Is(err, ErrInvalidArgument); refused != tc.refused || (!tc.refused && err != nil) {
				t.Fatalf("err %v", err)
			}
			if tc.refused && (posts.count() != 0 || !strings.Contains(err.Error(), "data centre")) {
				t.Fatalf("%d creates sent; err %v", posts.count(), err)
			}
		})
	}
}

func TestInstancesCreateGoesOnWhenTheCatalogCannotBeRead(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	fastPolls(e.client.Instances)
	e.reply("GET", "/computing/products", status(403, failedEnvelope("catalog not for you")))
	e.reply("GET", "/computing/images", ok(docsImages))
	e.reply("GET", "/computing/instances", ok(listOf(0)), ok(`{"data": [`+instanceJSON("7", "testname", "Creating")+`], "total_instance": 1, "status": "success"}`))
	posts := e.reply("POST", "/computing/instance", ok(`{"message": "ok", "status": "success"}`))
	req := validCreate()
	req.ImageID = "exoscee6e762-1d11-4f65-a7d6-8c0670b603b2" // apart from the product, if only the catalog said so
	if _, err := e.client.Instances.Create(bg, req); err != nil || posts.count() != 1 {
		t.Fatalf("err %v, %d creates", err, posts.count())
	}
}

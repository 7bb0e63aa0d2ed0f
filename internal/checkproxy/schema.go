package checkproxy

import (
	"strings"

	nebula "github.com/nebula-sdk/nebula-go"
)

// kind is what a JSON value must be, in the contract's terms.
type kind int

const (
	kString  kind = iota
	kInt          // a JSON integer, or a string of one ("28"): the docs write both
	kNumber       // a JSON number, or a numeric string
	kDecimal      // a JSON number, or a numeric string, "$" in front allowed
	kBool
	kID     // a JSON integer or a non-empty string
	kTime   // a string (unix seconds, "EST 2024-10-23 10:24:21", RFC 3339) or a number
	kStatus // an instance status: one of nebula.InstanceStatus's constants
	kObject // fields below, any other field is drift
	kArray  // elem below
	kMap    // any keys, each value elem below (regions, GPU families)
	kEmpty  // an object with no fields ({}), as delete answers send
)

// schema is the contract's description of one JSON value.
type schema struct {
	kind   kind
	fields map[string]field // kObject
	elem   *schema          // kArray, kMap
}

type field struct {
	s        *schema
	required bool
}

func scalar(k kind) *schema { return &schema{kind: k} }

func arrayOf(s *schema) *schema { return &schema{kind: kArray, elem: s} }

func mapOf(s *schema) *schema { return &schema{kind: kMap, elem: s} }

// object builds an object schema from name/field pairs; a name ending in
// "!" is required.
func object(pairs ...any) *schema {
	s := &schema{kind: kObject, fields: map[string]field{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		name := pairs[i].(string)
		f := field{s: pairs[i+1].(*schema)}
		if strings.HasSuffix(name, "!") {
			name, f.required = strings.TrimSuffix(name, "!"), true
		}
		s.fields[name] = f
	}
	return s
}

func (k kind) String() string {
	switch k {
	case kString:
		return "string"
	case kInt:
		return "integer (or a string of one)"
	case kNumber:
		return "number (or a numeric string)"
	case kDecimal:
		return "decimal amount (a number or a numeric string)"
	case kBool:
		return "boolean"
	case kID:
		return "ID (an integer or a non-empty string)"
	case kTime:
		return "time (a string or a number)"
	case kStatus:
		return "one of " + strings.Join(statusNames(), ", ")
	case kObject, kEmpty:
		return "object"
	case kArray:
		return "array"
	case kMap:
		return "object"
	}
	return "?"
}

// statuses are nebula.InstanceStatus's constants: the statuses the contract
// knows.
var statuses = []nebula.InstanceStatus{
	nebula.StatusCreating, nebula.StatusStarting, nebula.StatusRunning,
	nebula.StatusStopping, nebula.StatusStopped, nebula.StatusRebooting,
	nebula.StatusDeleting, nebula.StatusDeleted, nebula.StatusError,
}

func statusNames() []string {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	return names
}

// envelopeShape says what a route's success envelope holds.
type envelopeShape int

const (
	withData   envelopeShape = iota // "data" required
	noData                          // "data" absent, null or {}
	emptyData                       // "data" {} (or absent or null)
	notChecked                      // the invoice PDF, /keys
)

// route is one route of the contract.
type route struct {
	method, pattern string // pattern below the base path: "/ssh-keys/{id}"
	shape           envelopeShape
	data            *schema
	extra           *schema    // an object: top-level fields beside data/message/status
	total           *totalRule // paged lists
	one             bool       // data is an array of exactly one (instance detail)
}

// totalRule says where a paged list keeps its items and its total.
type totalRule struct {
	items string // path of the array: "data.ssh_keys", "data"
	total string // path of the count: "data.total_ssh_keys", "total_instance"
}

// The contract's shapes, from PLATFORM.md and DESIGN.md; the field names
// are the SDK's wire types' and the fake's (which follow the docs).
var (
	sshKey = object(
		"id!", scalar(kID), "key_name!", scalar(kString), "key_data!", scalar(kString),
		"create_time", scalar(kTime),
	)
	product = object(
		"id!", scalar(kString), "dc_id", scalar(kInt), "product_type", scalar(kString),
		"region", scalar(kString), "price_per_hour!", scalar(kDecimal), "cpu", scalar(kInt),
		"ram", scalar(kInt), "gpu", scalar(kString), "gpu_type", scalar(kString),
		"gpu_count", scalar(kInt), "disk_size", scalar(kInt), "ephemeral", scalar(kInt),
		"stock", scalar(kInt), "cycle", scalar(kString), "is_available", scalar(kBool),
	)
	image = object(
		"id!", scalar(kString), "dc_id", scalar(kInt), "os_name", scalar(kString),
		"os_type", scalar(kString), "region", scalar(kString),
	)
	instance = object(
		"id!", scalar(kID), "region", scalar(kString), "product_type", scalar(kString),
		"host_name!", scalar(kString), "cpu_cores", scalar(kInt), "ram", scalar(kNumber),
		"gpu", scalar(kString), "gpu_type", scalar(kString), "gpu_count", scalar(kInt),
		"disk_size", scalar(kInt), "ephemeral", scalar(kInt), "public_ipv4", scalar(kString),
		"lan_ipv4", scalar(kString), "price_per_hour", scalar(kDecimal), "os", scalar(kString),
		"login_method", scalar(kString), "exposed_ports", scalar(kString),
		"user_name", scalar(kString), "vm_name", scalar(kString), "password", scalar(kString),
		"vm_password", scalar(kString), "status!", scalar(kStatus), "start_time", scalar(kTime),
		"running_time", scalar(kString), "total_cost", scalar(kDecimal),
	)
	creditEntry = object(
		"user_id", scalar(kID), "computing_amount", scalar(kDecimal),
		"serverless_amount", scalar(kDecimal), "create_time", scalar(kTime),
		"update_time", scalar(kTime), "total", scalar(kDecimal),
	)
	invoice = object(
		"id!", scalar(kID), "invoice_id", scalar(kString), "invoiced_time", scalar(kTime),
		"price", scalar(kDecimal), "type", scalar(kString), "user_id", scalar(kID),
	)
	model = object(
		"model_name!", scalar(kString), "model_alias", scalar(kString),
		"model_type", scalar(kString), "context_length", scalar(kInt),
		"max_completion_tokens", scalar(kInt), "description", scalar(kString),
		"price", scalar(kDecimal), "huggingface_url", scalar(kString),
	)
)

// routes is the contract's route table. Its order matters only where two
// patterns could match one path: none do.
var routes = []route{
	{method: "POST", pattern: "/login", data: object(
		"id", scalar(kID), "name", scalar(kString), "email", scalar(kString),
		"is_staff", scalar(kBool), "is_active", scalar(kBool), "jwtToken!", scalar(kString),
	)},
	{method: "POST", pattern: "/api-keys", data: object(
		"id!", scalar(kID), "key!", scalar(kString), "name", scalar(kString), "description", scalar(kString),
	)},
	{method: "GET", pattern: "/api_keys", data: arrayOf(object(
		"id!", scalar(kID), "name", scalar(kString), "description", scalar(kString),
		"partial_key_data", scalar(kString),
	))},
	{method: "GET", pattern: "/keys", shape: notChecked},
	{method: "DELETE", pattern: "/api-keys/{id}", shape: emptyData},

	{method: "POST", pattern: "/ssh-keys", data: sshKey},
	{method: "GET", pattern: "/ssh-keys", data: object(
		"total_ssh_keys!", scalar(kInt), "ssh_keys!", arrayOf(sshKey),
	), total: &totalRule{items: "data.ssh_keys", total: "data.total_ssh_keys"}},
	{method: "PUT", pattern: "/ssh-keys/{id}", data: sshKey},
	{method: "DELETE", pattern: "/ssh-keys/{id}", shape: emptyData},

	{method: "GET", pattern: "/computing/products", data: mapOf(mapOf(arrayOf(product)))},
	{method: "GET", pattern: "/computing/images", data: mapOf(arrayOf(image))},
	{method: "POST", pattern: "/computing/instance", shape: noData},
	{method: "GET", pattern: "/computing/instances", data: arrayOf(instance),
		extra: object("total_instance!", scalar(kInt)),
		total: &totalRule{items: "data", total: "total_instance"}},
	{method: "GET", pattern: "/computing/deleted-instances", data: arrayOf(instance),
		extra: object("total_instance!", scalar(kInt)),
		total: &totalRule{items: "data", total: "total_instance"}},
	{method: "GET", pattern: "/computing/instance/{id}", data: arrayOf(instance), one: true},
	{method: "GET", pattern: "/computing/instance/{id}/start", shape: noData},
	{method: "GET", pattern: "/computing/instance/{id}/stop", shape: noData},
	{method: "GET", pattern: "/computing/instance/{id}/reboot", shape: noData},
	{method: "DELETE", pattern: "/computing/instance/{id}", shape: noData},

	{method: "GET", pattern: "/users/credits", data: object("available_balance!", scalar(kDecimal))},
	{method: "GET", pattern: "/users/credits/history", data: object(
		"credit_balance", scalar(kDecimal), "credit_history!", arrayOf(creditEntry),
		"total_credit_histories", scalar(kInt),
	), total: &totalRule{items: "data.credit_history", total: "data.total_credit_histories"}},
	{method: "GET", pattern: "/users/invoices", data: object(
		"invoices!", arrayOf(invoice), "total_invoices", scalar(kInt),
	), total: &totalRule{items: "data.invoices", total: "data.total_invoices"}},
	{method: "GET", pattern: "/users/invoice-download/{id}", shape: notChecked},

	{method: "GET", pattern: "/serverless/models", data: object("models!", arrayOf(model))},
	{method: "POST", pattern: "/images/generation", data: arrayOf(object(
		"b64_json!", scalar(kString), "index", scalar(kInt),
		"timings", object("inference", scalar(kNumber)),
	)), extra: object("model", scalar(kString), "object", scalar(kString))},
}

// findRoute returns the contract's route for method and path (below the
// base path), and the path's {id} segment; nil when the contract has none.
func findRoute(method, path string) (*route, string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range routes {
		r := &routes[i]
		if r.method != method {
			continue
		}
		want := strings.Split(strings.Trim(r.pattern, "/"), "/")
		if len(want) != len(segs) {
			continue
		}
		id, match := "", true
		for j, w := range want {
			switch {
			case w == "{id}" && segs[j] != "":
				id = segs[j]
			case w != segs[j]:
				match = false
			}
		}
		if match {
			return r, id
		}
	}
	return nil, ""
}

// name is how drift entries name the route: "GET /ssh-keys/{id}".
func (r *route) name() string { return r.method + " " + r.pattern }

package nebula

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InstancesService manages GPU instances: Create, Lookup, Get, List, All,
// ListDeleted, Start, Stop, Reboot, Delete and Wait. Get it from
// Client.Instances.
//
// A GPU instance costs money from the moment it is created, so Create is
// never sent twice and refuses a name an active instance already has: the
// name is how Create and Lookup find an instance that the API's create
// answer does not identify. See Create.
type InstancesService struct {
	client *Client

	// Polling intervals; zero means the default. Tests set them to
	// milliseconds.
	waitMin, waitMax time.Duration // Wait: from about 2 s up to 15 s
	createPoll       time.Duration // Create: first wait for the new instance to be listed
	createPollMax    time.Duration // Create: longest such wait
	createPollTries  int           // Create: how many times to look for it
}

// Defaults of the polling done by Wait and by Create.
const (
	defaultWaitMin         = 2 * time.Second
	defaultWaitMax         = 15 * time.Second
	defaultCreatePoll      = 500 * time.Millisecond
	defaultCreatePollMax   = 4 * time.Second
	defaultCreatePollTries = 5 // about 7.5 s of waits in all
)

func (s *InstancesService) waitBounds() (time.Duration, time.Duration) {
	lo, hi := s.waitMin, s.waitMax
	if lo <= 0 {
		lo = defaultWaitMin
	}
	if hi < lo {
		hi = max(lo, defaultWaitMax)
	}
	return lo, hi
}

func (s *InstancesService) pollSchedule() (first, most time.Duration, tries int) {
	first, most, tries = s.createPoll, s.createPollMax, s.createPollTries
	if first <= 0 {
		first = defaultCreatePoll
	}
	if most < first {
		most = max(first, defaultCreatePollMax)
	}
	if tries <= 0 {
		tries = defaultCreatePollTries
	}
	return first, most, tries
}

// Instance is a GPU (or CPU) instance. The list calls fill the fields they
// document; the detail (Get, and so Wait) also fills LANIPv4, LoginMethod,
// ExposedPorts, Username, Password, StartedAt, RunningTime and TotalCost.
// Printing, logging or marshalling an Instance shows Password redacted.
type Instance struct {
	ID          ID
	Name        string         // host_name: the name given at creation
	Status      InstanceStatus // as the API writes it: StatusRunning, StatusDeleted, ... (see Wait)
	Region      string         // "CANADA"
	ProductType string         // product_type: "GPU", "CPU", "Virtual Machine"
	CPUCores    int
	RAMGB       float64 // ram, in gigabytes
	GPU         string  // gpu: the GPU model name
	GPUType     string  // gpu_type: "RTX-A6000"
	GPUCount    int
	DiskSizeGB  int // disk_size: the root disk
	EphemeralGB int // ephemeral: the ephemeral disk
	PublicIPv4  string
	LANIPv4     string
	// PricePerHour is the hourly price as the API wrote it.
	PricePerHour Decimal
	OS           string // "Ubuntu Server 20.04 LTS (Focal Fossa)"
	LoginMethod  string
	ExposedPorts string // the container's exposed ports, as the API writes them
	// Username and Password log in to the instance (user_name and password
	// in the docs' field list, vm_name and vm_password in their example;
	// either is read).
	Username string
	Password Secret
	// StartedAt is start_time ("EST 2024-11-04 10:11:50" reads as UTC-5).
	StartedAt time.Time
	// RunningTime is running_time ("0.0000 hours").
	RunningTime time.Duration
	// TotalCost is total_cost, "$0.0000" kept as "0.0000".
	TotalCost Decimal
}

// CreateInstanceRequest describes a new instance. Every field is required.
// ProductID and ImageID must come from the same region and data centre (see
// Client.Compute); Create refuses a pair the catalog places apart.
type CreateInstanceRequest struct {
	Name      string // instance_name; must not be the name of an active instance
	ProductID string // product_id, from the product catalog
	ImageID   string // image_id, from the image catalog
	// SSHKeyID is sent as a JSON number when it is an integer, as the docs
	// show ("ssh_key_id": 2), else as a string.
	SSHKeyID ID
}

// InstanceNotListedError is returned by Create when the API accepted the
// create but the new instance did not show in the instance list while Create
// looked for it (a few tries over several seconds, or until the context
// ended). The instance most likely exists and costs money: find it later with
// Lookup(ctx, Name).
type InstanceNotListedError struct {
	Name string // the name the instance was created with
	// Err is why the last lookup failed: an error wrapping ErrNotFound, the
	// errors of List, the context's error, or a note that several active
	// instances have the name. It never matches ErrConflict, which means
	// that nothing was created.
	Err error
}

// Error says that the instance was created and how to find it.
func (e *InstanceNotListedError) Error() string {
	return fmt.Sprintf("nebula: instance %q was created but is not listed yet (find it with Lookup): %v", e.Name, e.Err)
}

// Unwrap returns the last lookup's error.
func (e *InstanceNotListedError) Unwrap() error { return e.Err }

// InstanceStatusError is returned by Wait when the instance reached a status
// from which it cannot reach the one waited for.
type InstanceStatusError struct {
	ID     ID
	Want   InstanceStatus // the status waited for
	Status InstanceStatus // the status seen
}

// Error names the status seen and the one waited for.
func (e *InstanceStatusError) Error() string {
	return fmt.Sprintf("nebula: instance %s is %q, which cannot become %q", e.ID, e.Status, e.Want)
}

// instanceData is one instance as the API sends it, in a list or a detail.
type instanceData struct {
	ID           ID             `json:"id"`
	Region       string         `json:"region"`
	ProductType  string         `json:"product_type"`
	HostName     string         `json:"host_name"`
	CPUCores     flexInt        `json:"cpu_cores"`
	RAM          flexFloat      `json:"ram"`
	GPU          string         `json:"gpu"`
	GPUType      string         `json:"gpu_type"`
	GPUCount     flexInt        `json:"gpu_count"`
	DiskSize     flexInt        `json:"disk_size"`
	Ephemeral    flexInt        `json:"ephemeral"`
	PublicIPv4   string         `json:"public_ipv4"`
	LANIPv4      string         `json:"lan_ipv4"`
	PricePerHour Decimal        `json:"price_per_hour"`
	OS           string         `json:"os"`
	LoginMethod  string         `json:"login_method"`
	ExposedPorts string         `json:"exposed_ports"`
	UserName     string         `json:"user_name"`
	VMName       string         `json:"vm_name"`
	Password     Secret         `json:"password"`
	VMPassword   Secret         `json:"vm_password"`
	Status       InstanceStatus `json:"status"`
	StartTime    apiTime        `json:"start_time"`
	RunningTime  runningTime    `json:"running_time"`
	TotalCost    Decimal        `json:"total_cost"`
}

func (d *instanceData) instance() Instance {
	in := Instance{
		ID:           d.ID,
		Name:         d.HostName,
		Status:       d.Status,
		Region:       d.Region,
		ProductType:  d.ProductType,
		CPUCores:     int(d.CPUCores),
		RAMGB:        float64(d.RAM),
		GPU:          d.GPU,
		GPUType:      d.GPUType,
		GPUCount:     int(d.GPUCount),
		DiskSizeGB:   int(d.DiskSize),
		EphemeralGB:  int(d.Ephemeral),
		PublicIPv4:   d.PublicIPv4,
		LANIPv4:      d.LANIPv4,
		PricePerHour: d.PricePerHour,
		OS:           d.OS,
		LoginMethod:  d.LoginMethod,
		ExposedPorts: d.ExposedPorts,
		Username:     d.UserName,
		Password:     d.Password,
		StartedAt:    d.StartTime.Time,
		RunningTime:  time.Duration(d.RunningTime),
		TotalCost:    d.TotalCost,
	}
	if in.Username == "" {
		in.Username = d.VMName
	}
	if in.Password.IsZero() {
		in.Password = d.VMPassword
	}
	return in
}

// runningTime is running_time: hours as "0.0000 hours" (the docs), or a bare
// number of hours. null and "" are zero; any other form fails the call as
// ErrUnexpectedResponse, like a time in no known form.
type runningTime time.Duration

func (rt *runningTime) UnmarshalJSON(b []byte) error {
	text, kind, err := jsonScalar(b, "a running time")
	if err != nil || kind == scalarNull || text == "" {
		return err
	}
	num := text
	for _, unit := range [...]string{"hours", "hour", "hrs", "hr", "h"} {
		if trimmed, ok := strings.CutSuffix(num, unit); ok {
			num = strings.TrimSpace(trimmed)
			break
		}
	}
	hours, ok := parseDecimalFloat(num)
	if !ok || hours < 0 || hours > float64(1<<62)/float64(time.Hour) {
		return fmt.Errorf("%w: running time in no known form: %s", ErrUnexpectedResponse, quoteExcerpt(text))
	}
	*rt = runningTime(time.Duration(hours * float64(time.Hour)).Round(time.Millisecond))
	return nil
}

// instancesEnvelope is the answer of the list calls and of the detail: data
// is an array, and the lists put total_instance beside it.
type instancesEnvelope struct {
	// Data starts as a pointer to a nil slice (see listEnvelope): null
	// clears the pointer, an array fills the slice, absence leaves both.
	Data   *[]instanceData `json:"data"`
	Total  *flexInt        `json:"total_instance"`
	Status string          `json:"status"`
	single bool            // the detail: at most one instance
}

func newInstancesEnvelope(single bool) *instancesEnvelope {
	return &instancesEnvelope{Data: new([]instanceData), single: single}
}

func (e *instancesEnvelope) fields() (string, bool) {
	absent := e.Data != nil && *e.Data == nil
	return e.Status, !absent
}

func (e *instancesEnvelope) dataProblem() string {
	items := e.items()
	if e.single && len(items) > 1 {
		return "the detail lists " + strconv.Itoa(len(items)) + " instances, not one"
	}
	for i := range items {
		if items[i].ID == "" {
			return `an instance without "id"`
		}
	}
	return ""
}

func (e *instancesEnvelope) items() []instanceData {
	if e.Data == nil {
		return nil
	}
	return *e.Data
}

func (e *instancesEnvelope) instances() []Instance {
	items := e.items()
	out := make([]Instance, len(items))
	for i := range items {
		out[i] = items[i].instance()
	}
	return out
}

// instancePath is the instance's path, with id checked and escaped, and
// suffix ("", "/start", ...) appended.
func instancePath(id ID, suffix string) (string, error) {
	escaped, err := escapeID("instance ID", id)
	if err != nil {
		return "", err
	}
	return "/computing/instance/" + escaped + suffix, nil
}

// Create creates a GPU instance and returns it as the instance list shows
// it, normally with Status "Creating"; Wait(ctx, in.ID, "Running") then waits
// for it to boot.
//
// Before sending, Create lists the active instances and refuses a name one
// of them already has, so that the name identifies the new instance: the
// API's create answer carries no ID. It also reads the catalog and refuses a
// product and an image that it places in different regions or data centres. After the API accepts the create,
// Create looks the instance up by name, a few times over several seconds,
// until it shows.
//
// Create is never sent twice: it is retried only when the request provably
// never reached the API, or on 429.
//
// Errors:
//   - ErrInvalidArgument: nil context, a blank or control-character name, an
//     empty ProductID, ImageID or SSHKeyID, or an SSHKeyID shaped like a
//     credential. Nothing is sent.
//   - an error wrapping ErrConflict (not an *APIError) when an active
//     instance already has the name; nothing is created.
//   - ErrInvalidArgument when the catalog places the product and the image
//     in different regions or data centres; nothing is created (the checks
//     before it have read the list and the catalog).
//   - the errors of List, from the check of the name; nothing is created.
//   - an *APIError matching ErrBadRequest, ErrUnauthorized, ErrForbidden,
//     ErrConflict, ErrRateLimited or ErrServerError: the API refused.
//   - ErrOutcomeUnknown, wrapped with its cause, when the request failed
//     after the API may have acted: call Lookup(ctx, req.Name) to learn
//     whether the instance exists before creating it again.
//   - *InstanceNotListedError when the API accepted the create but the
//     instance was not listed in time (or ctx ended while looking): it
//     exists; find it later with Lookup.
func (s *InstancesService) Create(ctx context.Context, req CreateInstanceRequest, opts ...CallOption) (*Instance, error) {
	if ctx == nil {
		return nil, invalidArgument("Create: nil context")
	}
	body, err := createInstanceJSON(req)
	if err != nil {
		return nil, err
	}
	taken, err := s.activeNamed(ctx, req.Name)
	if err != nil {
		return nil, fmt.Errorf("%w (while checking the name; nothing was created)", err)
	}
	if len(taken) > 0 {
		return nil, fmt.Errorf("%w: Create: active instance %s is already named %q; nothing was created", ErrConflict, taken[0].ID, req.Name)
	}
	if err := s.checkCatalogPair(ctx, req.ProductID, req.ImageID); err != nil {
		return nil, err
	}

	r := &request{name: "Instances.Create", route: "/computing/instance", opts: opts, method: http.MethodPost, path: "/computing/instance", body: body, safety: sendOnce, noData: true}
	if _, err := send[json.RawMessage](ctx, s.client, r); err != nil {
		return nil, err
	}
	return s.findCreated(ctx, req.Name)
}

// checkCatalogPair refuses a product and an image that the catalog places
// in different regions or data centres: such a create cannot work, and it
// should cost nothing to learn that. A product or an image the catalog does
// not list, or a catalog that cannot be read, leaves the pair to the API to
// judge: the check must not keep anyone from creating instances.
func (s *InstancesService) checkCatalogPair(ctx context.Context, productID, imageID string) error {
	products, err := s.client.Compute.Products(ctx)
	if err != nil {
		return ctx.Err() // nil unless the caller gave up
	}
	images, err := s.client.Compute.Images(ctx)
	if err != nil {
		return ctx.Err()
	}
	pi := slices.IndexFunc(products, func(p Product) bool { return p.ID == productID })
	ii := slices.IndexFunc(images, func(img Image) bool { return img.ID == imageID })
	if pi < 0 || ii < 0 || imageFitsProduct(products[pi], images[ii]) {
		return nil
	}
	p, img := products[pi], images[ii]
	return invalidArgument("Create: image %s is in %s, data centre %d, but product %s is in %s, data centre %d: pick an image of the product's region and data centre; nothing was created",
		img.ID, img.Region, img.DataCenterID, p.ID, p.Region, p.DataCenterID)
}

// createInstanceBody is the JSON body of POST /computing/instance.
type createInstanceBody struct {
	InstanceName string          `json:"instance_name"`
	ProductID    string          `json:"product_id"`
	ImageID      string          `json:"image_id"`
	SSHKeyID     json.RawMessage `json:"ssh_key_id"`
}

// createInstanceJSON checks req and encodes it.
func createInstanceJSON(req CreateInstanceRequest) ([]byte, error) {
	if err := checkName("Create", "instance name", req.Name); err != nil {
		return nil, err
	}
	for _, f := range [...]struct{ what, v string }{
		{"product ID", req.ProductID}, {"image ID", req.ImageID}, {"SSH key ID", string(req.SSHKeyID)},
	} {
		switch {
		case strings.TrimSpace(f.v) == "":
			return nil, invalidArgument("Create: the %s must not be empty", f.what)
		case hasControl(f.v):
			return nil, invalidArgument("Create: the %s holds a control character", f.what)
		case looksLikeCredential(f.v):
			return nil, invalidArgument("Create: the %s looks like an API key or a JWT, not an ID", f.what)
		}
	}
	key := json.RawMessage(req.SSHKeyID)
	if !isJSONInteger(key) {
		quoted, err := json.Marshal(string(req.SSHKeyID))
		if err != nil {
			return nil, invalidArgument("Create: SSH key ID: %v", err)
		}
		key = quoted
	}
	body, err := json.Marshal(createInstanceBody{
		InstanceName: req.Name, ProductID: req.ProductID, ImageID: req.ImageID, SSHKeyID: key,
	})
	if err != nil {
		return nil, invalidArgument("Create: %v", err)
	}
	return body, nil
}

// findCreated looks for the instance just created, with a short backoff,
// until it is listed.
func (s *InstancesService) findCreated(ctx context.Context, name string) (*Instance, error) {
	wait, most, tries := s.pollSchedule()
	var last error
	for try := 1; ; try++ {
		in, err := s.Lookup(ctx, name)
		if err == nil {
			return in, nil
		}
		if errors.Is(err, ErrConflict) {
			// Someone created the same name meanwhile. ErrConflict would
			// read as "nothing was created", so it is not passed on.
			err = fmt.Errorf("several active instances are named %q: tell them apart with List", name)
		}
		last = err
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			last = fmt.Errorf("%w; then %w", err, cerr)
		}
		if try >= tries || ctx.Err() != nil {
			break
		}
		if err := sleepCtx(ctx, wait); err != nil {
			last = fmt.Errorf("%w; then %w", last, err)
			break
		}
		wait = min(2*wait, most)
	}
	return nil, &InstanceNotListedError{Name: name, Err: last}
}

// Lookup returns the active instance named name: the one Create made, even
// when Create ended with ErrOutcomeUnknown or *InstanceNotListedError. It
// walks the whole instance list. Instances whose status is Deleting or
// Deleted are not active.
//
// Errors: ErrInvalidArgument (nil context, blank name; nothing is sent); an
// error wrapping ErrNotFound (not an *APIError) when no active instance has
// the name; an error wrapping ErrConflict when several have it (created
// outside this SDK: tell them apart with List); the errors of List.
func (s *InstancesService) Lookup(ctx context.Context, name string, opts ...CallOption) (*Instance, error) {
	if ctx == nil {
		return nil, invalidArgument("Lookup: nil context")
	}
	if err := checkName("Lookup", "instance name", name); err != nil {
		return nil, err
	}
	found, err := s.activeNamed(ctx, name)
	switch {
	case err != nil:
		return nil, err
	case len(found) == 0:
		return nil, fmt.Errorf("%w: Lookup: no active instance is named %q", ErrNotFound, name)
	case len(found) > 1:
		return nil, fmt.Errorf("%w: Lookup: %d active instances are named %q", ErrConflict, len(found), name)
	}
	return &found[0], nil
}

// activeNamed lists the active instances named name.
func (s *InstancesService) activeNamed(ctx context.Context, name string) ([]Instance, error) {
	var found []Instance
	for in, err := range s.All(ctx) {
		if err != nil {
			return nil, err
		}
		if in.Name == name && in.Status.Active() {
			found = append(found, in)
		}
	}
	return found, nil
}

// Get returns the detail of instance id, the only call that shows its
// login (Username, Password), StartedAt, RunningTime and TotalCost.
//
// Errors: ErrInvalidArgument (nil context, an id that is empty, "." or "..",
// or shaped like a credential; nothing is sent); an *APIError matching
// ErrNotFound, ErrUnauthorized, ErrForbidden, ErrRateLimited or
// ErrServerError after retries; an error wrapping ErrNotFound (not an
// *APIError) when the API answers with an empty list, as it may for an
// unknown id; ErrUnexpectedResponse when the answer lists more than one
// instance.
func (s *InstancesService) Get(ctx context.Context, id ID, opts ...CallOption) (*Instance, error) {
	path, err := instancePath(id, "")
	if err != nil {
		return nil, err
	}
	env := newInstancesEnvelope(true)
	r := &request{name: "Instances.Get", route: "/computing/instance/{id}", opts: opts, method: http.MethodGet, path: path, safety: repeatable}
	if err := s.client.do(ctx, r, env); err != nil {
		return nil, err
	}
	items := env.items()
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: %s: the API lists no such instance", ErrNotFound, r.op())
	}
	in := items[0].instance()
	return &in, nil
}

// List returns one page of the active instances (those not deleted).
//
// Errors: ErrInvalidArgument (nil context, negative Limit or Offset; nothing
// is sent); an *APIError matching ErrUnauthorized, ErrForbidden,
// ErrRateLimited or ErrServerError after retries, or ErrUnexpectedResponse.
func (s *InstancesService) List(ctx context.Context, lo ListOptions, opts ...CallOption) (*Page[Instance], error) {
	return s.list(ctx, "Instances.List", "/computing/instances", lo, opts)
}

// All walks every active instance, page by page (see Page). It stops on
// the first error, which it yields once, and stops fetching when the loop
// is left.
func (s *InstancesService) All(ctx context.Context, opts ...CallOption) iter.Seq2[Instance, error] {
	return allPages(ctx, defaultPageSize, func(ctx context.Context, lo ListOptions) (*Page[Instance], error) {
		return s.List(ctx, lo, opts...)
	})
}

// ListDeleted returns one page of the deleted instances.
//
// Errors: those of List.
func (s *InstancesService) ListDeleted(ctx context.Context, lo ListOptions, opts ...CallOption) (*Page[Instance], error) {
	return s.list(ctx, "Instances.ListDeleted", "/computing/deleted-instances", lo, opts)
}

func (s *InstancesService) list(ctx context.Context, name, path string, lo ListOptions, opts []CallOption) (*Page[Instance], error) {
	q, err := lo.query()
	if err != nil {
		return nil, err
	}
	env := newInstancesEnvelope(false)
	r := &request{name: name, route: path, opts: opts, method: http.MethodGet, path: path, query: q, safety: repeatable}
	if err := s.client.do(ctx, r, env); err != nil {
		return nil, err
	}
	return newPage(env.instances(), flexTotal(env.Total), lo), nil
}

// Start starts instance id. Starting a running instance changes nothing, so
// Start is retried like a read. It returns once the API has accepted the
// request; Wait(ctx, id, "Running") waits for the instance.
//
// Errors: ErrInvalidArgument (nil context, unusable id; nothing is sent); an
// *APIError matching ErrBadRequest, ErrNotFound, ErrUnauthorized,
// ErrForbidden, ErrRateLimited or ErrServerError after retries.
func (s *InstancesService) Start(ctx context.Context, id ID, opts ...CallOption) error {
	return s.action(ctx, "Instances.Start", id, "/start", opts)
}

// Stop shuts instance id down; Wait(ctx, id, "Stopped") waits for it. It
// is retried like a read.
//
// Errors: those of Start.
func (s *InstancesService) Stop(ctx context.Context, id ID, opts ...CallOption) error {
	return s.action(ctx, "Instances.Stop", id, "/stop", opts)
}

// Reboot reboots instance id. It is retried like a read: a repeated reboot
// request while one is under way is no second reboot, though a retry that
// arrives after the first one finished reboots again.
//
// Errors: those of Start.
func (s *InstancesService) Reboot(ctx context.Context, id ID, opts ...CallOption) error {
	return s.action(ctx, "Instances.Reboot", id, "/reboot", opts)
}

func (s *InstancesService) action(ctx context.Context, name string, id ID, suffix string, opts []CallOption) error {
	path, err := instancePath(id, suffix)
	if err != nil {
		return err
	}
	r := &request{name: name, route: "/computing/instance/{id}" + suffix, opts: opts, method: http.MethodGet, path: path, safety: repeatable, noData: true}
	_, err = send[json.RawMessage](ctx, s.client, r)
	return err
}

// Delete deletes instance id for good (it then shows in ListDeleted). If an
// earlier attempt may have deleted it and a retry finds no such instance,
// Delete succeeds: it is gone.
//
// Errors: those of Start.
func (s *InstancesService) Delete(ctx context.Context, id ID, opts ...CallOption) error {
	path, err := instancePath(id, "")
	if err != nil {
		return err
	}
	r := &request{name: "Instances.Delete", route: "/computing/instance/{id}", opts: opts, method: http.MethodDelete, path: path, safety: repeatable, goneOK: true, noData: true}
	_, err = send[json.RawMessage](ctx, s.client, r)
	return err
}

// Wait polls Get until the instance's Status equals status (compared
// case-insensitively) and returns the instance. Polls start about 2 s apart
// and back off to 15 s; bound the wait with ctx.
//
// A status that cannot lead to the one waited for ends the wait (see the
// README's status table): "Deleted" leads nowhere, "Deleting" only to
// "Deleted", and "Error" or "Failed" only to "Deleting" or "Deleted". Other
// statuses ("Creating", "Starting", "Running", "Stopping", "Stopped",
// "Rebooting", and any the SDK does not know) keep the wait going: a
// stopped instance that is being started may still read "Stopped".
//
// Errors: ErrInvalidArgument (nil context, unusable id, blank status;
// nothing is sent); *InstanceStatusError, returned with the instance as
// last seen, when the status reached cannot lead to status; the errors of
// Get (when waiting for "Deleted", ErrNotFound means the instance is gone);
// the context's error when ctx ends first, naming the last status seen.
func (s *InstancesService) Wait(ctx context.Context, id ID, status InstanceStatus, opts ...CallOption) (*Instance, error) {
	if ctx == nil {
		return nil, invalidArgument("Wait: nil context")
	}
	if _, err := instancePath(id, ""); err != nil {
		return nil, err
	}
	want, ok := status.known()
	if !ok {
		return nil, invalidArgument("Instances.Wait: %.40q is not an InstanceStatus (use WaitFunc to wait for anything else)", string(status))
	}
	wait, most := s.waitBounds()
	var last InstanceStatus
	for {
		in, err := s.Get(ctx, id)
		if err != nil {
			if last == "" {
				return nil, err
			}
			return nil, fmt.Errorf("nebula: waiting for instance %s to be %q (last seen %q): %w", id, want, last, err)
		}
		if in.Status.Is(want) {
			return in, nil
		}
		if !canBecome(in.Status, want) {
			return in, &InstanceStatusError{ID: id, Want: want, Status: in.Status}
		}
		last = in.Status
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, fmt.Errorf("nebula: waiting for instance %s to be %q (last seen %q): %w", id, want, last, err)
		}
		wait = min(2*wait, most)
	}
}

// canBecome is the transition table of Wait: whether an instance seen in
// status from may still reach status to. Only the dead ends are listed;
// every other status may lead anywhere.
func canBecome(from, to InstanceStatus) bool {
	to = InstanceStatus(strings.ToLower(string(to)))
	switch strings.ToLower(string(from)) {
	case "deleted":
		return false
	case "deleting":
		return to == "deleted"
	case "error", "failed":
		return to == "deleting" || to == "deleted"
	}
	return true
}

// sleepCtx waits d, or less if ctx ends first, and then returns ctx's error.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

package nebula

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// InstancesService manages GPU instances: Create, Lookup, Get, List, All,
// ListDeleted, AllDeleted, Start, Stop, Reboot, Delete, and the waits Wait,
// WaitFunc and WaitAll. Get it from Client.Instances. It is safe for
// concurrent use.
//
// A GPU instance costs money from the moment it is created, so Create is
// never sent twice, refuses a name an active instance already has, and
// refuses a second Create of a name while one is in flight on the same
// Client: the name, and the IDs seen before sending, are how Create and
// Lookup find an instance that the API's create answer does not identify.
// See Create.
type InstancesService struct {
	client *Client

	// Polling intervals; zero means the default. Tests set them to
	// milliseconds.
	waitMin, waitMax time.Duration // Wait: from about 2 s up to 15 s
	createPoll       time.Duration // Create: first wait for the new instance to be listed
	createPollMax    time.Duration // Create: longest such wait
	createPollTries  int           // Create: how many times to look for it
	lostLooksMin     time.Duration // Create after a lost answer: least time for the looks

	// creating holds the names whose Create is in flight on this Client:
	// a second Create of one of them fails at once, so that one Client's
	// concurrent creates never make two instances.
	mu       sync.Mutex
	creating map[string]struct{}
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
	Status      InstanceStatus // as the API writes it: StatusRunning, StatusDeleted, ... (compare with Is; see Wait)
	Region      string         // "CANADA"
	ProductType string         // product_type: "GPU", "CPU", "Virtual Machine"
	CPUCores    int
	RAMGB       int    // ram, in whole gigabytes, as Product.RAMGB
	GPU         string // gpu: the GPU model name
	GPUType     string // gpu_type: "RTX-A6000"
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
	return fmt.Sprintf("nebula: Instances.Create: instance %q was created but is not listed as this call's yet (find it with Lookup): %v", e.Name, e.Err)
}

// Unwrap returns the last lookup's error.
func (e *InstanceNotListedError) Unwrap() error { return e.Err }

// Is makes the error match ErrOutcomeUnknown: the create was accepted, but
// the caller does not hold the instance, so the rule "after
// ErrOutcomeUnknown, Lookup before creating again" covers it too.
func (e *InstanceNotListedError) Is(target error) bool { return target == ErrOutcomeUnknown }

// InstanceStatusError is returned by Wait and WaitAll when an instance
// reached a status from which it cannot reach the one waited for; ID names
// the instance.
type InstanceStatusError struct {
	ID     ID
	Want   InstanceStatus // the status waited for
	Status InstanceStatus // the status seen
	op     string         // the wait: "Instances.Wait"
}

// Error names the wait, the status seen and the one waited for.
func (e *InstanceStatusError) Error() string {
	op := e.op
	if op == "" {
		op = "Instances.Wait"
	}
	return fmt.Sprintf("nebula: %s: instance %s is %q, which cannot become %q", op, e.ID, e.Status, e.Want)
}

// instanceData is one instance as the API sends it, in a list or a detail.
type instanceData struct {
	ID           ID             `json:"id"`
	Region       string         `json:"region"`
	ProductType  string         `json:"product_type"`
	HostName     string         `json:"host_name"`
	CPUCores     flexInt        `json:"cpu_cores"`
	RAM          flexInt        `json:"ram"`
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
		RAMGB:        int(d.RAM),
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

// instanceList is the data of the list calls and of the detail: an array
// of instances. The lists put total_instance beside it, in the envelope.
type instanceList []instanceData

// validate refuses an instance without an id.
func (l *instanceList) validate() string {
	for i := range *l {
		if (*l)[i].ID == "" {
			return `an instance without "id"`
		}
	}
	return ""
}

func (l *instanceList) page(env *rawEnvelope) ([]instanceData, *flexInt, string) {
	if env.Total == nil || string(env.Total) == "null" {
		return *l, nil, ""
	}
	var total flexInt
	if err := json.Unmarshal(env.Total, &total); err != nil {
		return nil, nil, "body does not match the documented envelope: " + jsonErrorText(err, "total_instance")
	}
	return *l, &total, ""
}

func decodeInstanceDetail(env *rawEnvelope, out any) string {
	return out.(*instanceList).decodeDetail(env)
}

// decodeDetail reads the detail's answer into l: at most one instance.
func (l *instanceList) decodeDetail(env *rawEnvelope) string {
	if reason := decodeNullable(env, l); reason != "" {
		return reason
	}
	if len(*l) > 1 {
		return "the detail lists " + strconv.Itoa(len(*l)) + " instances, not one"
	}
	return ""
}

// instancePath is the instance's path, with id checked and escaped, and
// suffix ("", "/start", ...) appended. op names the call in its error.
func instancePath(op string, id ID, suffix string) (string, error) {
	escaped, err := escapeID("instance ID", id)
	if err != nil {
		return "", named(op, err)
	}
	return "/computing/instance/" + escaped + suffix, nil
}

// Create creates a GPU instance and returns it as the instance list shows
// it, normally with Status StatusCreating; Wait(ctx, in.ID, StatusRunning)
// then waits for it to boot. WithProgress reports the instance Create found;
// WithCallPolling sets how often it looks for it (not for how long: at
// least as long as by default, about 7.5 s).
//
// The API's create answer carries no ID, so Create identifies the new
// instance itself:
//   - While a Create of a name is in flight on this Client, another Create of
//     that name on it fails at once with ErrConflict; nothing is sent.
//   - Before sending, Create walks the instance list once (reading the
//     catalog at the same time), refuses a name an active instance already
//     has, and remembers the IDs of the instances it saw.
//   - After the API accepts the create, Create takes as its own only an
//     active instance of that name whose ID it had not seen: it looks first
//     at the end of the list, where the API lists new instances, and walks
//     the whole list only when the instance is not there or the list's
//     total says that some new instance is elsewhere; it looks a few times
//     over several seconds.
//
// Create is never sent twice: it is retried only when the request provably
// never reached the API, or on 429. A same-host 307 or 308 answer is
// followed once with the same body (the status says that the first hop did
// nothing); any other redirect is not followed. When the create's answer
// is lost after it may have reached the API, Create looks for the instance
// as after a success (single attempts, at most about 15 s), and returns it
// if it finds it; the API did not confirm the create, so an instance of the
// name that another program made meanwhile would be taken as this call's,
// as Lookup would take it. WithResponseInto then describes the create
// request, whose answer was lost.
//
// Errors:
//   - ErrInvalidArgument: nil context, a blank or control-character name, an
//     empty ProductID, ImageID or SSHKeyID, an SSHKeyID shaped like a
//     credential, or a bad CallOption. Nothing is sent.
//   - an error wrapping ErrConflict (not an *APIError) when a Create of the
//     name is in flight on this Client (nothing is sent) or an active
//     instance already has the name (nothing is created).
//   - ErrInvalidArgument when the catalog places the product and the image
//     in different regions or data centres; nothing is created (the checks
//     before it have read the list and the catalog).
//   - the errors of List, from the check of the name, among them
//     ErrUnexpectedResponse for a list that does not page as documented;
//     nothing is created.
//   - an *APIError matching ErrBadRequest, ErrUnauthorized, ErrForbidden,
//     ErrConflict, ErrRateLimited or ErrServerError: the API refused.
//   - ErrOutcomeUnknown, wrapped with its cause, when the request failed
//     after the API may have acted (also a 303 See Other, which says the
//     server acted elsewhere, and a 301 or 302, which are not followed and
//     do not say it did not; the *APIError with the status is the cause)
//     and Create, looking for the instance afterwards, did not find it
//     (the error then also wraps ctx's error when ctx ended the looks):
//     call Lookup(ctx, req.Name) to learn whether the instance exists
//     before creating it again.
//   - *InstanceNotListedError, which also matches ErrOutcomeUnknown, when
//     the API accepted the create but Create could not tell which instance
//     is its own: none new was listed in time (or ctx ended while looking),
//     or several new instances have the name. It most likely exists; find
//     it later with Lookup.
func (s *InstancesService) Create(ctx context.Context, req CreateInstanceRequest, opts ...CallOption) (*Instance, error) {
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	if ctx == nil {
		return nil, invalidArgument("Instances.Create: nil context")
	}
	body, err := createInstanceJSON(req)
	if err != nil {
		return nil, err
	}
	cfg, err := newCallConfig("Instances.Create", opts)
	if err != nil {
		return nil, err
	}
	if !s.claim(req.Name) {
		return nil, fmt.Errorf("%w: Instances.Create: a Create of %q is already in flight on this Client; nothing was sent", ErrConflict, req.Name)
	}
	defer s.release(req.Name)

	// The name check and the catalog check read independent lists: read
	// them at the same time. The checks' calls share the caller's options
	// but not WithResponseInto, which describes the create itself.
	checkOpts := withoutResponse(opts)
	checkCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	catalog := inGoroutine(func() error { return s.checkCatalogPair(checkCtx, req.ProductID, req.ImageID, checkOpts) })
	before, err := s.survey(ctx, req.Name, checkOpts)
	if err != nil {
		cancel()
		catalog()
		return nil, err
	}
	if err := catalog(); err != nil {
		return nil, err
	}

	r := &request{name: "Instances.Create", route: "/computing/instance", opts: opts, method: http.MethodPost, path: "/computing/instance", body: body, safety: sendOnce, noData: true}
	var in *Instance
	if _, err := send[json.RawMessage](ctx, s.client, r); err != nil {
		if !errors.Is(err, ErrOutcomeUnknown) {
			return nil, err
		}
		if in, err = s.afterLostAnswer(ctx, req.Name, before, cfg, checkOpts, err); err != nil {
			return nil, err
		}
	} else if in, err = s.findCreated(ctx, req.Name, before, cfg, checkOpts); err != nil {
		return nil, err
	}
	if cfg.progress != nil {
		cfg.progress(*in)
	}
	return in, nil
}

// inGoroutine runs f in a goroutine of its own; the function it returns
// waits for f's result. A panic in f (an Observer's, a log handler's, in
// the calls f makes) is raised again in the goroutine that waits, where
// the caller can recover it: in f's own goroutine it would end the
// program.
func inGoroutine[T any](f func() T) func() T {
	type outcome struct {
		v        T
		returned bool
		panicked any
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			if !o.returned {
				o.panicked = recover()
			}
			done <- o
		}()
		o.v = f()
		o.returned = true
	}()
	return func() T {
		o := <-done
		if !o.returned {
			if o.panicked == nil { // runtime.Goexit, as t.FailNow calls it
				panic("nebula: a goroutine of the call ended without returning (runtime.Goexit)")
			}
			panic(o.panicked)
		}
		return o.v
	}
}

// claim marks a Create of name as in flight, and reports false when one
// already is.
func (s *InstancesService) claim(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.creating[name]; busy {
		return false
	}
	if s.creating == nil {
		s.creating = make(map[string]struct{})
	}
	s.creating[name] = struct{}{}
	return true
}

func (s *InstancesService) release(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.creating, name)
}

// withoutResponse drops WithResponseInto from opts: the calls Create and
// the waits make besides their own would otherwise fill the caller's
// Response, some of them at the same time.
//
// WithResponseInto is known by its target in CallOption.response: its apply
// sets nothing (newCallConfig reads the target itself), so probing apply
// would keep it.
func withoutResponse(opts []CallOption) []CallOption {
	out := make([]CallOption, 0, len(opts))
	for _, o := range opts {
		if o.response != nil {
			continue
		}
		out = append(out, o)
	}
	return out
}

// preCreate is what Create's walk of the list saw before sending.
type preCreate struct {
	listed map[ID]struct{} // the IDs listed, active or not: none is the new instance
	total  int             // the list's latest stated total
}

// survey walks the instance list once before a create: it refuses a name
// an active instance has, and remembers every ID.
func (s *InstancesService) survey(ctx context.Context, name string, opts []CallOption) (preCreate, error) {
	pre := preCreate{listed: make(map[ID]struct{})}
	var taken *Instance
	total, err := walkPages(ctx, "Instances.Create", ListOptions{Limit: defaultPageSize}, s.lister(opts), instanceKey, func(in *Instance) bool {
		pre.listed[in.ID] = struct{}{}
		if !in.Status.Active() {
			return true
		}
		if in.Name == name && taken == nil {
			taken = in
		}
		return true
	})
	switch {
	case err != nil:
		return pre, fmt.Errorf("%w (while checking the name; nothing was created)", err)
	case taken != nil:
		return pre, fmt.Errorf("%w: Instances.Create: active instance %s is already named %q; nothing was created", ErrConflict, taken.ID, name)
	}
	pre.total = total
	return pre, nil
}

// checkCatalogPair refuses a product and an image that the catalog places
// in different regions or data centres: such a create cannot work, and it
// should cost nothing to learn that. A product or an image the catalog does
// not list, or a catalog that cannot be read, leaves the pair to the API to
// judge: the check must not keep anyone from creating instances. It reads
// the products and the images at the same time.
func (s *InstancesService) checkCatalogPair(ctx context.Context, productID, imageID string, opts []CallOption) error {
	type imagesResult struct {
		images []Image
		err    error
	}
	readImages := inGoroutine(func() imagesResult {
		images, err := s.client.Compute.Images(ctx, opts...)
		return imagesResult{images, err}
	})
	products, perr := s.client.Compute.Products(ctx, opts...)
	ir := readImages()
	if perr != nil || ir.err != nil {
		if err := ctx.Err(); err != nil { // the caller gave up
			return fmt.Errorf("nebula: Instances.Create: reading the catalog: %w; nothing was created", err)
		}
		return nil
	}
	images := ir.images
	pi := slices.IndexFunc(products, func(p Product) bool { return p.ID == productID })
	ii := slices.IndexFunc(images, func(img Image) bool { return img.ID == imageID })
	if pi < 0 || ii < 0 || imageFitsProduct(products[pi], images[ii]) {
		return nil
	}
	p, img := products[pi], images[ii]
	return invalidArgument("Instances.Create: image %s is in %s, data centre %d, but product %s is in %s, data centre %d: pick an image of the product's region and data centre (Compute.ImagesFor); nothing was created",
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
	if err := checkName("Instances.Create", "instance name", req.Name); err != nil {
		return nil, err
	}
	for _, f := range [...]struct{ what, v string }{
		{"product ID", req.ProductID}, {"image ID", req.ImageID}, {"SSH key ID", string(req.SSHKeyID)},
	} {
		switch {
		case strings.TrimSpace(f.v) == "":
			return nil, invalidArgument("Instances.Create: the %s must not be empty", f.what)
		case hasControl(f.v):
			return nil, invalidArgument("Instances.Create: the %s holds a control character", f.what)
		case looksLikeCredential(f.v):
			return nil, invalidArgument("Instances.Create: the %s looks like an API key or a JWT, not an ID", f.what)
		}
	}
	key := json.RawMessage(req.SSHKeyID)
	if !isJSONInteger(key) {
		quoted, err := json.Marshal(string(req.SSHKeyID))
		if err != nil {
			return nil, invalidArgument("Instances.Create: SSH key ID: %v", err)
		}
		key = quoted
	}
	body, err := json.Marshal(createInstanceBody{
		InstanceName: req.Name, ProductID: req.ProductID, ImageID: req.ImageID, SSHKeyID: key,
	})
	if err != nil {
		return nil, invalidArgument("Instances.Create: %v", err)
	}
	return body, nil
}

// findCreated looks for the instance just created, with a short backoff,
// until it is listed: an active instance named name whose ID was not active
// before the create.
func (s *InstancesService) findCreated(ctx context.Context, name string, pre preCreate, cfg callConfig, opts []CallOption) (*Instance, error) {
	wait, most, tries := s.pollSchedule()
	// WithCallPolling changes how often Create looks, not for how long:
	// it looks at least tries times, and for at least as long as the
	// default schedule waits in all.
	span, slept := s.lookSpan(), time.Duration(0)
	if cfg.pollMin > 0 {
		wait, most = cfg.pollMin, cfg.pollMax
	}
	var last error
	for try := 1; ; try++ {
		in, err := s.findNew(ctx, name, pre, opts)
		if err == nil {
			return in, nil
		}
		var amb *ambiguousCreateError
		if errors.As(err, &amb) {
			return nil, &InstanceNotListedError{Name: name, Err: err}
		}
		last = err
		if cerr := ctx.Err(); cerr != nil {
			last = withThen(err, cerr)
		}
		if (try >= tries && slept >= span) || ctx.Err() != nil {
			break
		}
		if err := sleepCtx(ctx, wait); err != nil {
			last = fmt.Errorf("%w; then %w", last, err)
			break
		}
		slept += wait
		wait = min(2*wait, most)
	}
	return nil, &InstanceNotListedError{Name: name, Err: last}
}

// lookSpan is how long Create's schedule waits between its looks for a new
// instance, in all (7.5 s by default).
func (s *InstancesService) lookSpan() time.Duration {
	wait, most, tries := s.pollSchedule()
	var span time.Duration
	for i, w := 1, wait; i < tries; i, w = i+1, min(2*w, most) {
		span += w
	}
	return span
}

// defaultLostLooksMin is the least time afterLostAnswer gives its looks, so
// that a schedule of milliseconds (tests) still has time for one list.
const defaultLostLooksMin = 5 * time.Second

// afterLostAnswer looks for the instance that a create whose answer was lost
// (createErr, matching ErrOutcomeUnknown) may have made, as findCreated does
// after a success, and returns it. When it finds none, it returns createErr,
// with what ended the looks when that says more: the caller's context, or
// several new instances of the name. Each look is a single attempt, and the
// looks end after lostLooksBudget: an API that fails every request, as it
// may when it lost the answer, must not hold an unknown outcome back for
// minutes, nor get retries.
func (s *InstancesService) afterLostAnswer(ctx context.Context, name string, pre preCreate, cfg callConfig, opts []CallOption, createErr error) (*Instance, error) {
	lookCtx, cancel := context.WithTimeout(ctx, s.lostLooksBudget())
	defer cancel()
	in, err := s.findCreated(lookCtx, name, pre, cfg, append(slices.Clip(opts), WithCallMaxRetries(0)))
	if err == nil {
		return in, nil
	}
	var amb *ambiguousCreateError
	switch {
	case errors.As(err, &amb):
		return nil, withThen(createErr, amb)
	case ctx.Err() != nil:
		return nil, withThen(createErr, ctx.Err())
	}
	return nil, createErr
}

// lostLooksBudget is how long afterLostAnswer looks at most: twice the
// schedule's span (15 s by default), and at least lostLooksMin (5 s).
func (s *InstancesService) lostLooksBudget() time.Duration {
	least := s.lostLooksMin
	if least <= 0 {
		least = defaultLostLooksMin
	}
	return max(2*s.lookSpan(), least)
}

// withThen adds to err what happened after it, unless err already says so.
func withThen(err, then error) error {
	if errors.Is(err, then) {
		return err
	}
	return fmt.Errorf("%w; then %w", err, then)
}

// ambiguousCreateError: several instances of the name appeared since Create
// looked, and nothing tells which one is Create's.
type ambiguousCreateError struct {
	name string
	ids  []ID
}

func (e *ambiguousCreateError) Error() string {
	return fmt.Sprintf("several new active instances are named %q (%s): another program created the name too; tell them apart with List", e.name, joinIDs(e.ids))
}

func joinIDs(ids []ID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = string(id)
	}
	return strings.Join(parts, ", ")
}

// findNew looks once for the created instance. The API lists instances in
// the order they were created, so it reads the end of the list first (the
// page around where the list ended before the create). It walks the whole
// list when the instance is not there, or when the total says that the
// tail does not hold every instance new since the survey (the order is
// another): another new instance of the name may be elsewhere.
func (s *InstancesService) findNew(ctx context.Context, name string, pre preCreate, opts []CallOption) (*Instance, error) {
	var fresh []Instance
	others := 0  // instances of the name that were listed before: not ours
	newSeen := 0 // instances of any name not listed before
	collect := func(in *Instance) bool {
		_, old := pre.listed[in.ID]
		if !old {
			newSeen++
		}
		if in.Name != name || !in.Status.Active() {
			return true
		}
		if old {
			others++
		} else if !slices.ContainsFunc(fresh, func(f Instance) bool { return f.ID == in.ID }) {
			fresh = append(fresh, *in)
		}
		return true
	}
	tail := max(0, pre.total-defaultPageSize/2)
	total, err := walkPages(ctx, "Instances.Create", ListOptions{Limit: defaultPageSize, Offset: tail}, s.lister(opts), instanceKey, collect)
	if err != nil {
		return nil, err
	}
	// Instances deleted meanwhile can hide new ones listed elsewhere from
	// this count; only a whole walk would tell, at the cost the tail saves.
	if tail > 0 && (len(fresh) == 0 || total > pre.total+newSeen) {
		others = 0
		if _, err := walkPages(ctx, "Instances.Create", ListOptions{Limit: defaultPageSize}, s.lister(opts), instanceKey, collect); err != nil {
			return nil, err
		}
	}
	switch {
	case len(fresh) == 1:
		return &fresh[0], nil
	case len(fresh) > 1:
		ids := make([]ID, len(fresh))
		for i := range fresh {
			ids[i] = fresh[i].ID
		}
		return nil, &ambiguousCreateError{name: name, ids: ids}
	case others > 0:
		return nil, fmt.Errorf("%w: Instances.Create: only an instance that was there before is named %q, not a new one", ErrNotFound, name)
	}
	return nil, fmt.Errorf("%w: Instances.Create: no new active instance is named %q yet", ErrNotFound, name)
}

// instanceKey is an instance's identity in a page walk.
func instanceKey(in *Instance) string { return string(in.ID) }

// lister is List as walkPages fetches it.
func (s *InstancesService) lister(opts []CallOption) func(context.Context, ListOptions) (*Page[Instance], error) {
	return func(ctx context.Context, lo ListOptions) (*Page[Instance], error) {
		return s.List(ctx, lo, opts...)
	}
}

// Lookup returns the active instance named name: the one Create made, even
// when Create ended with ErrOutcomeUnknown or *InstanceNotListedError. It
// walks the whole instance list and counts instances by ID, so one instance
// that a changing list shows on two pages is one. Instances whose status is
// Deleting or Deleted are not active.
//
// Errors: ErrInvalidArgument (nil context, blank name, bad CallOption;
// nothing is sent); an error wrapping ErrNotFound (not an *APIError) when no
// active instance has the name; an error wrapping ErrConflict when several
// have it (created outside this SDK: tell them apart with List); the errors
// of List, among them ErrUnexpectedResponse for a list that does not page as
// documented (see All).
func (s *InstancesService) Lookup(ctx context.Context, name string, opts ...CallOption) (*Instance, error) {
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	if ctx == nil {
		return nil, invalidArgument("Instances.Lookup: nil context")
	}
	if err := checkName("Instances.Lookup", "instance name", name); err != nil {
		return nil, err
	}
	if _, err := newCallConfig("Instances.Lookup", opts); err != nil {
		return nil, err
	}
	var found []Instance
	_, err := walkPages(ctx, "Instances.Lookup", ListOptions{Limit: defaultPageSize}, s.lister(withoutResponse(opts)), instanceKey, func(in *Instance) bool {
		if in.Name == name && in.Status.Active() {
			found = append(found, *in)
		}
		return true
	})
	switch {
	case err != nil:
		return nil, err
	case len(found) == 0:
		return nil, fmt.Errorf("%w: Instances.Lookup: no active instance is named %q", ErrNotFound, name)
	case len(found) > 1:
		return nil, fmt.Errorf("%w: Instances.Lookup: %d active instances are named %q (%s)", ErrConflict, len(found), name, joinIDs(idsOf(found)))
	}
	return &found[0], nil
}

func idsOf(ins []Instance) []ID {
	ids := make([]ID, len(ins))
	for i := range ins {
		ids[i] = ins[i].ID
	}
	return ids
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
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	path, err := instancePath("Instances.Get", id, "")
	if err != nil {
		return nil, err
	}
	var items instanceList
	r := &request{name: "Instances.Get", route: "/computing/instance/{id}", opts: opts, method: http.MethodGet, path: path, safety: repeatable, decode: decodeInstanceDetail, out: &items}
	if err := s.client.do(ctx, r); err != nil {
		return nil, err
	}
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
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	return s.list(ctx, "Instances.List", "/computing/instances", lo, opts)
}

// All walks every active instance, page by page (see Page), and yields each
// instance once, also when a list that changes meanwhile shows it on two
// pages. It stops on the first error, which it yields once, and stops
// fetching when the loop is left.
//
// Errors: those of List; ErrUnexpectedResponse when the API does not page
// as documented: a page repeats an earlier page's instances (a server that
// ignores offset), the instances outnumber the stated total, or the list
// goes on for more than 10 000 pages.
func (s *InstancesService) All(ctx context.Context, opts ...CallOption) iter.Seq2[Instance, error] {
	return allPages(ctx, "Instances.All", defaultPageSize, s.lister(opts), instanceKey)
}

// ListDeleted returns one page of the deleted instances.
//
// Errors: those of List.
func (s *InstancesService) ListDeleted(ctx context.Context, lo ListOptions, opts ...CallOption) (*Page[Instance], error) {
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	return s.list(ctx, "Instances.ListDeleted", "/computing/deleted-instances", lo, opts)
}

// AllDeleted walks every deleted instance, page by page, as All walks the
// active ones.
//
// Errors: those of All.
func (s *InstancesService) AllDeleted(ctx context.Context, opts ...CallOption) iter.Seq2[Instance, error] {
	return allPages(ctx, "Instances.AllDeleted", defaultPageSize, func(ctx context.Context, lo ListOptions) (*Page[Instance], error) {
		return s.ListDeleted(ctx, lo, opts...)
	}, instanceKey)
}

func (s *InstancesService) list(ctx context.Context, name, path string, lo ListOptions, opts []CallOption) (*Page[Instance], error) {
	q, err := lo.query()
	if err != nil {
		return nil, named(name, err)
	}
	r := &request{name: name, route: path, opts: opts, method: http.MethodGet, path: path, query: q, safety: repeatable}
	return sendPage(ctx, s.client, r, lo, &instanceList{}, (*instanceData).instance)
}

// Start starts instance id. Starting a running instance changes nothing, so
// Start is retried like a read. It returns once the API has accepted the
// request; Wait(ctx, id, StatusRunning) waits for the instance.
//
// Errors: ErrInvalidArgument (nil context, unusable id; nothing is sent); an
// *APIError matching ErrBadRequest, ErrNotFound, ErrUnauthorized,
// ErrForbidden, ErrRateLimited or ErrServerError after retries.
func (s *InstancesService) Start(ctx context.Context, id ID, opts ...CallOption) error {
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	return s.action(ctx, "Instances.Start", id, "/start", opts)
}

// Stop shuts instance id down; Wait(ctx, id, StatusStopped) waits for it. It
// is retried like a read.
//
// Errors: those of Start.
func (s *InstancesService) Stop(ctx context.Context, id ID, opts ...CallOption) error {
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	return s.action(ctx, "Instances.Stop", id, "/stop", opts)
}

// Reboot reboots instance id. It is retried like a read: a repeated reboot
// request while one is under way is no second reboot, though a retry that
// arrives after the first one finished reboots again.
//
// Errors: those of Start.
func (s *InstancesService) Reboot(ctx context.Context, id ID, opts ...CallOption) error {
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	return s.action(ctx, "Instances.Reboot", id, "/reboot", opts)
}

func (s *InstancesService) action(ctx context.Context, name string, id ID, suffix string, opts []CallOption) error {
	path, err := instancePath(name, id, suffix)
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
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	path, err := instancePath("Instances.Delete", id, "")
	if err != nil {
		return err
	}
	r := &request{name: "Instances.Delete", route: "/computing/instance/{id}", opts: opts, method: http.MethodDelete, path: path, safety: repeatable, goneOK: true, noData: true}
	_, err = send[json.RawMessage](ctx, s.client, r)
	return err
}

// Wait polls Get until the instance's Status is status (compared
// case-insensitively) and returns the instance. Polls start about 2 s apart
// and back off to 15 s (WithPolling for the Client, WithCallPolling for this
// call); bound the wait with ctx. WithProgress reports each change of
// status, the first one seen included.
//
// Waiting for StatusDeleted ends with (nil, nil) once the instance is gone:
// Get answers 404, or shows it Deleted.
//
// A status that cannot lead to the one waited for ends the wait (see the
// status table of docs/instances.md, "Statuses and waiting"): Deleted
// leads nowhere, Deleting only to Deleted, and Error (or "Failed") only to
// Deleting or Deleted. Other statuses
// (Creating, Starting, Running, Stopping, Stopped, Rebooting, and any the
// SDK does not know) keep the wait going: a stopped instance that is being
// started may still read Stopped.
//
// Errors: ErrInvalidArgument (nil context, unusable id, a status that is
// none of the Status constants, a bad CallOption; nothing is sent: use
// WaitFunc to wait for anything else); *InstanceStatusError, returned with
// the instance as last seen, when the status reached cannot lead to status;
// the errors of Get; the context's error when ctx ends first, naming the
// last status seen.
func (s *InstancesService) Wait(ctx context.Context, id ID, status InstanceStatus, opts ...CallOption) (*Instance, error) {
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	want, ok := status.known()
	if !ok {
		return nil, invalidArgument("Instances.Wait: %.40q is not an InstanceStatus (use WaitFunc to wait for anything else)", string(status))
	}
	in, err := s.waitFunc(ctx, "Instances.Wait", id, want, func(in *Instance) (bool, error) {
		if in.Status.Is(want) {
			return true, nil
		}
		if !canBecome(in.Status, want) {
			return true, &InstanceStatusError{ID: id, Want: want, Status: in.Status, op: "Instances.Wait"}
		}
		return false, nil
	}, opts)
	if want == StatusDeleted && err == nil {
		return nil, nil // gone
	}
	return in, err
}

// WaitFunc polls Get until until reports done or an error, and returns the
// instance as last seen with until's error: the way to wait for any
// condition (an IP address, a status the SDK does not know). Polling and
// progress are those of Wait.
//
// Errors: ErrInvalidArgument (nil context, unusable id, nil until, a bad
// CallOption; nothing is sent); the error until returns, with the instance;
// the errors of Get (ErrNotFound once the instance is gone); the context's
// error when ctx ends first, naming the last status seen.
func (s *InstancesService) WaitFunc(ctx context.Context, id ID, until func(*Instance) (done bool, err error), opts ...CallOption) (*Instance, error) {
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	if until == nil {
		return nil, invalidArgument("Instances.WaitFunc: nil condition")
	}
	return s.waitFunc(ctx, "Instances.WaitFunc", id, "", until, opts)
}

// waitFunc is WaitFunc. want is the status Wait waits for, "" for
// WaitFunc: when it is StatusDeleted, a 404 ends the wait with (nil, nil).
func (s *InstancesService) waitFunc(ctx context.Context, op string, id ID, want InstanceStatus, until func(*Instance) (bool, error), opts []CallOption) (*Instance, error) {
	if ctx == nil {
		return nil, invalidArgument("%s: nil context", op)
	}
	if _, err := instancePath(op, id, ""); err != nil {
		return nil, err
	}
	cfg, err := newCallConfig(op, opts)
	if err != nil {
		return nil, err
	}
	getOpts := withoutResponse(opts)
	wait, most := s.pollBounds(cfg)
	var last InstanceStatus
	seen := false
	for {
		in, err := s.Get(ctx, id, getOpts...)
		if err != nil {
			if want == StatusDeleted && errors.Is(err, ErrNotFound) {
				return nil, nil
			}
			if !seen {
				return nil, asCall(err, op)
			}
			return nil, fmt.Errorf("nebula: %s: waiting for instance %s (last seen %q): %w", op, id, last, err)
		}
		if cfg.progress != nil && (!seen || !in.Status.Is(last)) {
			cfg.progress(*in)
		}
		seen, last = true, in.Status
		done, uerr := until(in)
		if done || uerr != nil {
			return in, uerr
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, fmt.Errorf("nebula: %s: waiting for instance %s (last seen %q): %w", op, id, last, err)
		}
		wait = min(2*wait, most)
	}
}

// pollBounds are the waits' polling interval bounds: the call's
// WithCallPolling, else the Client's WithPolling, else 2 s to 15 s.
func (s *InstancesService) pollBounds(cfg callConfig) (time.Duration, time.Duration) {
	if cfg.pollMin > 0 {
		return cfg.pollMin, cfg.pollMax
	}
	return s.waitBounds()
}

// WaitAll waits until every instance of ids has status, and returns them
// in any order, as the instance list shows them (without the detail's
// login). Each round costs one walk of the instance list, not one Get per
// instance; only an instance the list no longer shows costs a Get, to learn
// its fate. Polling and progress are those of Wait; WithProgress reports
// each instance's changes. Repeated IDs count once; no IDs at all is
// (nil, nil) at once, with nothing sent.
//
// Waiting for StatusDeleted ends with (nil, nil) once no instance of ids is
// active any more.
//
// Errors: ErrInvalidArgument (nil context, an empty or unusable ID, a
// status that is none of the Status constants, a bad CallOption; nothing is
// sent); the first *InstanceStatusError, naming the instance, when one
// reached a status that cannot lead to status; an error wrapping
// ErrNotFound naming an instance that is gone; the errors of All and Get;
// the context's error when ctx ends first, naming the instances still
// awaited.
func (s *InstancesService) WaitAll(ctx context.Context, ids []ID, status InstanceStatus, opts ...CallOption) ([]Instance, error) {
	zeroResponses(opts) // a call refused below must not show an earlier call's metadata
	const op = "Instances.WaitAll"
	if ctx == nil {
		return nil, invalidArgument("%s: nil context", op)
	}
	want, ok := status.known()
	if !ok {
		return nil, invalidArgument("%s: %.40q is not an InstanceStatus", op, string(status))
	}
	pending := make(map[ID]InstanceStatus, len(ids)) // ID -> last status seen, "" for none
	for i, id := range ids {
		if id == "" {
			return nil, invalidArgument("%s: ID %d is empty", op, i)
		}
		if _, err := instancePath(op, id, ""); err != nil {
			return nil, err
		}
		pending[id] = ""
	}
	cfg, err := newCallConfig(op, opts)
	if err != nil {
		return nil, err
	}
	if len(pending) == 0 {
		return nil, nil // nothing to wait for
	}
	callOpts := withoutResponse(opts)
	wait, most := s.pollBounds(cfg)
	var done []Instance
	// see notes what instance id looks like. id is the ID as asked for:
	// a detail may spell it otherwise.
	see := func(id ID, in *Instance) error {
		if prev := pending[id]; cfg.progress != nil && (prev == "" || !in.Status.Is(prev)) {
			cfg.progress(*in)
		}
		pending[id] = in.Status
		switch {
		case in.Status.Is(want):
			delete(pending, id)
			if want != StatusDeleted {
				done = append(done, *in)
			}
		case !canBecome(in.Status, want):
			return &InstanceStatusError{ID: id, Want: want, Status: in.Status, op: op}
		}
		return nil
	}
	for {
		listed := make(map[ID]bool, len(pending))
		var seeErr error
		_, err := walkPages(ctx, op, ListOptions{Limit: defaultPageSize}, s.lister(callOpts), instanceKey, func(in *Instance) bool {
			if _, ok := pending[in.ID]; !ok {
				return true
			}
			listed[in.ID] = true
			seeErr = see(in.ID, in)
			return seeErr == nil
		})
		if err == nil {
			err = seeErr
		}
		// An instance the list does not show was deleted, or is too new
		// to be listed: its detail tells which.
		for id := range pending {
			if err != nil || len(pending) == 0 {
				break
			}
			if listed[id] {
				continue
			}
			if want == StatusDeleted {
				delete(pending, id)
				continue
			}
			in, gerr := s.Get(ctx, id, callOpts...)
			if gerr != nil {
				err = fmt.Errorf("instance %s: %w", id, gerr)
				break
			}
			err = see(id, in)
		}
		if err != nil {
			var se *InstanceStatusError
			if errors.As(err, &se) {
				return nil, err
			}
			return nil, fmt.Errorf("nebula: %s: waiting for %d instances (%s) to be %q: %w", op, len(pending), joinIDs(slices.Sorted(maps.Keys(pending))), want, err)
		}
		if len(pending) == 0 {
			return done, nil
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, fmt.Errorf("nebula: %s: waiting for %d instances (%s) to be %q: %w", op, len(pending), joinIDs(slices.Sorted(maps.Keys(pending))), want, err)
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

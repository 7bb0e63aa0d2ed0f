package nebulatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Instance statuses the fake uses. The docs show "Running" and "Deleted";
// "Creating" and "Stopped" are the fake's names for the states between.
const (
	StatusCreating = "Creating"
	StatusRunning  = "Running"
	StatusStopped  = "Stopped"
	StatusDeleted  = "Deleted"
)

// instance is one GPU instance. Its fields are exported for SaveState.
type instance struct {
	ID        string    `json:"id"`
	Name      string    `json:"host_name"`
	Product   Product   `json:"product"`
	ImageID   string    `json:"image_id"`
	OS        string    `json:"os"`
	SSHKeyID  int       `json:"ssh_key_id"`
	Status    string    `json:"status"`
	Password  string    `json:"vm_password"`
	PublicIP  string    `json:"public_ipv4"`
	LANIP     string    `json:"lan_ipv4"`
	CreatedAt time.Time `json:"created_at"`
	ReadyAt   time.Time `json:"ready_at"`   // when Creating ends
	StartedAt time.Time `json:"started_at"` // when it last started running
	Ran       float64   `json:"ran_hours"`  // hours run before StartedAt
}

// settle applies the transitions that time has made.
func (in *instance) settle(now time.Time) {
	if in.Status == StatusCreating && !now.Before(in.ReadyAt) {
		in.Status, in.StartedAt = StatusRunning, in.ReadyAt
	}
}

// hours is how long the instance has run in all.
func (in *instance) hours(now time.Time) float64 {
	h := in.Ran
	if in.Status == StatusRunning {
		h += now.Sub(in.StartedAt).Hours()
	}
	return h
}

func (in *instance) listView() map[string]any {
	p := in.Product
	return map[string]any{
		"id": in.ID, "region": p.Region, "product_type": p.ProductType, "host_name": in.Name,
		"cpu_cores": p.CPU, "ram": p.RAM, "gpu": p.GPU, "gpu_type": p.GPU, "gpu_count": p.GPUCount,
		"disk_size": p.DiskSize, "ephemeral": p.Ephemeral, "public_ipv4": in.PublicIP,
		"price_per_hour": p.PricePerHour, "os": in.OS, "status": in.Status,
	}
}

// detailView is what GET /computing/instance/{id} shows: the docs' example
// sends cpu_cores and ram as strings there, and the credentials.
func (in *instance) detailView(now time.Time) map[string]any {
	p := in.Product
	h := in.hours(now)
	start := ""
	if !in.StartedAt.IsZero() {
		start = estTime(in.StartedAt)
	}
	return map[string]any{
		"id": in.ID, "region": p.Region, "product_type": p.ProductType, "host_name": in.Name,
		"cpu_cores": strconv.Itoa(p.CPU), "ram": strconv.Itoa(p.RAM), "gpu": p.GPU, "gpu_type": p.GPU,
		"gpu_count": p.GPUCount, "disk_size": p.DiskSize, "ephemeral": p.Ephemeral,
		"public_ipv4": in.PublicIP, "lan_ipv4": in.LANIP, "login_method": "", "os": in.OS,
		"exposed_ports": "", "vm_name": in.Name, "vm_password": in.Password, "status": in.Status,
		"price_per_hour": p.PricePerHour, "start_time": start,
		"running_time": fmt.Sprintf("%.4f hours", h), "total_cost": fmt.Sprintf("$%.4f", h*p.PricePerHour),
	}
}

func (s *Server) createInstance(c *call) reply {
	var req struct {
		Name      *string         `json:"instance_name"`
		ProductID *string         `json:"product_id"`
		ImageID   *string         `json:"image_id"`
		SSHKeyID  json.RawMessage `json:"ssh_key_id"`
	}
	if rep, bad := decodeJSON(c, &req); bad {
		return rep
	}
	for field, v := range map[string]*string{"instance_name": req.Name, "product_id": req.ProductID, "image_id": req.ImageID} {
		if v == nil || strings.TrimSpace(*v) == "" {
			return fail(http.StatusUnprocessableEntity, field+" is required")
		}
	}
	if len(req.SSHKeyID) == 0 || string(req.SSHKeyID) == "null" {
		return fail(http.StatusUnprocessableEntity, "ssh_key_id is required")
	}
	sshID, err := strconv.Atoi(strings.Trim(string(req.SSHKeyID), `"`))
	if err != nil {
		return fail(http.StatusUnprocessableEntity, "ssh_key_id must be an integer")
	}
	p := s.cfg.catalog.product[*req.ProductID]
	if p == nil {
		return fail(http.StatusNotFound, "Product not found")
	}
	im := s.cfg.catalog.image[*req.ImageID]
	if im == nil {
		return fail(http.StatusNotFound, "Image not found")
	}
	if p.DCID != im.DCID || p.Region != im.Region {
		return fail(http.StatusBadRequest, "image_id and product_id must be from the same data center and region")
	}
	if !p.IsAvailable || p.Stock <= 0 {
		return fail(http.StatusBadRequest, "Product is not available")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if st.sshByID[sshID] == nil {
		return fail(http.StatusNotFound, "SSH key not found")
	}
	st.nextHost++
	in := &instance{
		ID: newUUID(), Name: *req.Name, Product: *p, ImageID: im.ID, OS: im.OSName, SSHKeyID: sshID,
		Status: StatusCreating, Password: randomPassword(),
		PublicIP:  fmt.Sprintf("38.80.%d.%d", 81+st.nextHost/250, 1+st.nextHost%250),
		LANIP:     fmt.Sprintf("10.0.%d.%d", st.nextHost/250, 1+st.nextHost%250),
		CreatedAt: now, ReadyAt: now.Add(s.cfg.bootTime),
	}
	in.settle(now)
	st.addInstance(in)
	return reply{status: http.StatusOK, noData: true, message: "Instances created successfully"}
}

func (st *state) addInstance(in *instance) {
	if in.Status == StatusDeleted {
		st.deleted = append(st.deleted, in)
	} else {
		st.instances = append(st.instances, in)
	}
	st.instByID[in.ID] = in
}

func (s *Server) listInstances(c *call) reply {
	return s.listOf(c, func(st *state) []*instance { return st.instances }, "All instances retrieved successfully")
}

func (s *Server) listDeletedInstances(c *call) reply {
	return s.listOf(c, func(st *state) []*instance { return st.deleted }, "All deleted instances retrieved successfully")
}

func (s *Server) listOf(c *call, which func(*state) []*instance, message string) reply {
	limit, offset, rep, bad := pageParams(c)
	if bad {
		return rep
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	all := which(s.st)
	out := make([]map[string]any, 0)
	for _, in := range page(all, limit, offset) {
		in.settle(now)
		out = append(out, in.listView())
	}
	return reply{status: http.StatusOK, data: out, message: message, extra: map[string]any{"total_instance": len(all)}}
}

// instanceFor finds the path's instance (deleted ones too) and settles it.
func (st *state) instanceFor(c *call, now time.Time) (*instance, reply, bool) {
	in := st.instByID[c.r.PathValue("id")]
	if in == nil {
		return nil, fail(http.StatusNotFound, "Instance not found"), false
	}
	in.settle(now)
	return in, reply{}, true
}

// getInstance answers an array of one, as documented; a deleted instance
// still shows, with status "Deleted", so that a waiter learns its fate.
func (s *Server) getInstance(c *call) reply {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	in, rep, found := s.st.instanceFor(c, now)
	if !found {
		return rep
	}
	return ok([]map[string]any{in.detailView(now)}, "Get instance detail successfully")
}

// instanceAction starts, stops or reboots. They converge: starting a
// running instance or stopping a stopped one succeeds and changes nothing.
func (s *Server) instanceAction(c *call) reply {
	action := c.r.PathValue("action")
	if action != "start" && action != "stop" && action != "reboot" {
		return fail(http.StatusNotFound, "Not Found")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	in, rep, found := s.st.instanceFor(c, now)
	if !found {
		return rep
	}
	switch {
	case in.Status == StatusDeleted:
		return fail(http.StatusNotFound, "Instance not found")
	case in.Status == StatusCreating:
		return fail(http.StatusBadRequest, "Instance is still being created")
	case action == "start":
		if in.Status == StatusStopped {
			in.Status, in.StartedAt = StatusRunning, now
		}
		return reply{status: http.StatusOK, noData: true, message: "Instances started successfully"}
	case action == "stop":
		if in.Status == StatusRunning {
			in.Ran, in.Status = in.hours(now), StatusStopped
		}
		return reply{status: http.StatusOK, noData: true, message: "Instances stopped successfully"}
	default:
		if in.Status != StatusRunning {
			return fail(http.StatusBadRequest, "Instance is not running")
		}
		return reply{status: http.StatusOK, noData: true, message: "Instances rebooted successfully"}
	}
}

func (s *Server) deleteInstance(c *call) reply {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	in, rep, found := st.instanceFor(c, now)
	if !found || in.Status == StatusDeleted {
		if found {
			rep = fail(http.StatusNotFound, "Instance not found")
		}
		return rep
	}
	in.Ran, in.Status = in.hours(now), StatusDeleted
	for i, other := range st.instances {
		if other == in {
			st.instances = append(st.instances[:i:i], st.instances[i+1:]...)
			break
		}
	}
	st.deleted = append(st.deleted, in)
	return reply{status: http.StatusOK, noData: true, message: "Instances deleted successfully"}
}

// Instances returns the status of every active (not deleted) instance by
// ID, for assertions.
func (s *Server) Instances() map[string]string {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.st.instances))
	for _, in := range s.st.instances {
		in.settle(now)
		out[in.ID] = in.Status
	}
	return out
}

// randomPassword makes a 16-character password like the docs' example.
func randomPassword() string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!=-_"
	b := []byte(randomToken(16))
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b[:16])
}

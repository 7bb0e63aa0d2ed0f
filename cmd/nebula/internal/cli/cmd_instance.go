package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	nebula "github.com/nebula-sdk/nebula-go"
)

type instanceView struct {
	ID           nebula.ID      `json:"id"`
	Name         string         `json:"name"`
	Status       string         `json:"status"`
	Region       string         `json:"region"`
	ProductType  string         `json:"product_type"`
	GPU          string         `json:"gpu"`
	GPUType      string         `json:"gpu_type"`
	GPUCount     int            `json:"gpu_count"`
	CPUCores     int            `json:"cpu_cores"`
	RAMGB        int            `json:"ram_gb"`
	DiskGB       int            `json:"disk_gb"`
	EphemeralGB  int            `json:"ephemeral_gb"`
	PublicIPv4   string         `json:"public_ipv4"`
	LANIPv4      string         `json:"lan_ipv4"`
	PricePerHour nebula.Decimal `json:"price_per_hour"`
	OS           string         `json:"os"`
	LoginMethod  string         `json:"login_method"`
	ExposedPorts string         `json:"exposed_ports"`
	Username     string         `json:"username"`
	// Password is shown only by instance get --show-password.
	Password    string         `json:"password,omitempty"`
	StartedAt   string         `json:"started_at"`
	RunningTime string         `json:"running_time"`
	TotalCost   nebula.Decimal `json:"total_cost"`
}

// instanceRow is an instance and whether its password may show.
type instanceRow struct {
	nebula.Instance
	showPassword bool
}

func instanceView1(r instanceRow) any {
	in := r.Instance
	v := instanceView{
		ID: in.ID, Name: in.Name, Status: string(in.Status), Region: in.Region, ProductType: in.ProductType,
		GPU: in.GPU, GPUType: in.GPUType, GPUCount: in.GPUCount, CPUCores: in.CPUCores, RAMGB: in.RAMGB,
		DiskGB: in.DiskSizeGB, EphemeralGB: in.EphemeralGB, PublicIPv4: in.PublicIPv4, LANIPv4: in.LANIPv4,
		PricePerHour: in.PricePerHour, OS: in.OS, LoginMethod: in.LoginMethod, ExposedPorts: in.ExposedPorts,
		Username: in.Username, StartedAt: rfc3339(in.StartedAt), TotalCost: in.TotalCost,
	}
	if in.RunningTime != 0 {
		v.RunningTime = in.RunningTime.String()
	}
	if r.showPassword {
		v.Password = in.Password.Reveal()
	}
	return v
}

func (a *App) instanceColumns() columns[instanceRow] {
	return columns[instanceRow]{
		{"ID", func(r instanceRow) string { return string(r.ID) }, true},
		{"NAME", func(r instanceRow) string { return r.Name }, true},
		{"STATUS", func(r instanceRow) string { return string(r.Status) }, true},
		{"REGION", func(r instanceRow) string { return r.Region }, true},
		{"GPU", func(r instanceRow) string {
			if r.GPUCount > 1 {
				return fmt.Sprintf("%dx %s", r.GPUCount, r.GPU)
			}
			return r.GPU
		}, true},
		{"PUBLIC_IPV4", func(r instanceRow) string { return r.PublicIPv4 }, true},
		{"PRICE_PER_HOUR", func(r instanceRow) string { return string(r.PricePerHour) }, true},
		{"PRODUCT_TYPE", func(r instanceRow) string { return r.ProductType }, false},
		{"GPU_TYPE", func(r instanceRow) string { return r.GPUType }, false},
		{"GPU_COUNT", func(r instanceRow) string { return itoa(r.GPUCount) }, false},
		{"CPU_CORES", func(r instanceRow) string { return itoa(r.CPUCores) }, false},
		{"RAM_GB", func(r instanceRow) string { return itoa(r.RAMGB) }, false},
		{"DISK_GB", func(r instanceRow) string { return itoa(r.DiskSizeGB) }, false},
		{"EPHEMERAL_GB", func(r instanceRow) string { return itoa(r.EphemeralGB) }, false},
		{"LAN_IPV4", func(r instanceRow) string { return r.LANIPv4 }, false},
		{"OS", func(r instanceRow) string { return r.OS }, false},
		{"LOGIN_METHOD", func(r instanceRow) string { return r.LoginMethod }, false},
		{"EXPOSED_PORTS", func(r instanceRow) string { return r.ExposedPorts }, false},
		{"USERNAME", func(r instanceRow) string { return r.Username }, false},
		{"PASSWORD", func(r instanceRow) string {
			if r.showPassword {
				return r.Password.Reveal()
			}
			return ""
		}, false},
		{"STARTED", func(r instanceRow) string { return a.short(r.StartedAt) }, false},
		{"RUNNING_TIME", func(r instanceRow) string {
			if r.RunningTime == 0 {
				return ""
			}
			return r.RunningTime.String()
		}, false},
		{"TOTAL_COST", func(r instanceRow) string { return string(r.TotalCost) }, false},
	}
}

// instanceStatuses are the statuses instance wait accepts.
var instanceStatuses = []instStatus{
	statusCreating, statusStarting, statusRunning, statusStopping,
	statusStopped, statusRebooting, statusDeleting, statusDeleted, statusError,
}

func parseStatus(s string) (instStatus, error) {
	var names []string
	for _, st := range instanceStatuses {
		if strings.EqualFold(string(st), s) {
			return st, nil
		}
		names = append(names, string(st))
	}
	return "", usagef("unknown status %q: use one of %s", s, strings.Join(names, ", "))
}

func (a *App) instanceCommand() *cobra.Command {
	var (
		productID, imageID, sshKeyID string
		wait                         bool
	)
	create := &cobra.Command{
		Use:   "create NAME --product ID --image ID --ssh-key ID [--wait]",
		Short: "Create a GPU instance (billed from now on); --wait waits until it runs",
		Long: `Creates a GPU instance. It is never sent twice: if the answer is lost, the
command exits 3 and names the command that tells whether the instance exists
(nebula instance lookup NAME); do not create it again before that.

--wait waits until the instance is Running, with progress on stderr. Ctrl-C
stops waiting (exit 130) and never deletes the instance.`,
		Example: `  nebula instance create trainer --product gpu_h100 --image img_ubuntu --ssh-key 7
  nebula instance create trainer --product gpu_h100 --image img_ubuntu --ssh-key 7 --wait -o json`,
		Args: cobra.ExactArgs(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			p, err := newPrinter(a, a.instanceColumns())
			if err != nil {
				return err
			}
			for flag, v := range map[string]string{"product": productID, "image": imageID, "ssh-key": sshKeyID} {
				if v == "" {
					return usagef("--%s is required", flag)
				}
			}
			client, err := a.client(cmd)
			if err != nil {
				return err
			}
			name := args[0]
			keyID, err := resolveSSHKey(cmd.Context(), client, sshKeyID)
			if err != nil {
				return err
			}
			var prog *progress
			if wait {
				prog = a.newProgress(fmt.Sprintf("instance %q", name))
				defer prog.done()
			}
			in, err := createInstance(cmd.Context(), client, nebula.CreateInstanceRequest{
				Name: name, ProductID: productID, ImageID: imageID, SSHKeyID: keyID,
			}, prog)
			if err != nil {
				if errors.Is(err, nebula.ErrOutcomeUnknown) {
					return &unknownError{err, fmt.Sprintf("the instance %q may have been created (and billed): run\n  nebula instance lookup %s\nto see whether it exists before creating it again", name, shellQuote(name))}
				}
				return err
			}
			if wait {
				got, err := waitInstance(cmd.Context(), client, in.ID, statusRunning, prog)
				if err != nil {
					// The instance exists (and is billed) whatever
					// ended the wait: stdout says which it is.
					prog.done()
					if perr := p.one(instanceRow{Instance: *in}, instanceView1); perr != nil {
						err = errors.Join(err, perr)
					}
					return a.waitError(cmd.Context(), err, in.ID, name, statusRunning)
				}
				if got != nil {
					in = got
				}
			}
			if prog != nil {
				prog.done()
			}
			return p.one(instanceRow{Instance: *in}, instanceView1)
		}),
	}
	f := create.Flags()
	f.StringVar(&productID, "product", "", "the product ID (see nebula product list)")
	f.StringVar(&imageID, "image", "", "the OS image ID (see nebula image list --product ID)")
	f.StringVar(&sshKeyID, "ssh-key", "", "the SSH key's ID or name (see nebula ssh-key list)")
	f.BoolVar(&wait, "wait", false, "wait until the instance is Running, with progress on stderr")

	var deleted bool
	list := &cobra.Command{
		Use:     "list [--deleted]",
		Short:   "List the instances (--deleted: the deleted ones)",
		Example: "  nebula instance list\n  nebula instance list --deleted -o json",
		Args:    cobra.NoArgs,
		RunE: withPrinterClient(a, a.instanceColumns(), func(cmd *cobra.Command, _ []string, p *printer[instanceRow], client *nebula.Client) error {
			all := client.Instances.All
			if deleted {
				all = client.Instances.AllDeleted
			}
			var rows []instanceRow
			for in, err := range all(cmd.Context()) {
				if err != nil {
					return err
				}
				rows = append(rows, instanceRow{Instance: in})
			}
			return p.list(rows, instanceView1)
		}),
	}
	list.Flags().BoolVar(&deleted, "deleted", false, "list the deleted instances instead")

	var showPassword bool
	get := &cobra.Command{
		Use:               "get ID|NAME",
		ValidArgsFunction: a.completeInstances,
		Short:             "Show an instance in detail (by ID, else by name)",
		Example: `  nebula instance get 42
  nebula instance get trainer --columns id,status,public_ipv4,username
  nebula instance get trainer --show-password --columns password --no-header`,
		Args: cobra.ExactArgs(1),
		RunE: withPrinterClient(a, a.instanceColumns(), func(cmd *cobra.Command, args []string, p *printer[instanceRow], client *nebula.Client) error {
			in, err := getInstance(cmd.Context(), client, args[0])
			if err != nil {
				return err
			}
			return p.one(instanceRow{Instance: *in, showPassword: showPassword}, instanceView1)
		}),
	}
	get.Flags().BoolVar(&showPassword, "show-password", false, "show the instance's login password")

	lookup := &cobra.Command{
		Use:               "lookup NAME",
		ValidArgsFunction: a.completeInstances,
		Short:             "Find the active instance of a name (exit 4 when there is none)",
		Long: `Finds the active instance named NAME. After a create whose outcome is unknown
(exit 3), this tells whether the instance exists: exit 0 and the instance, or
exit 4.`,
		Example: "  nebula instance lookup trainer\n  nebula instance lookup trainer --columns id --no-header",
		Args:    cobra.ExactArgs(1),
		RunE: withPrinterClient(a, a.instanceColumns(), func(cmd *cobra.Command, args []string, p *printer[instanceRow], client *nebula.Client) error {
			in, err := client.Instances.Lookup(cmd.Context(), args[0])
			if errors.Is(err, nebula.ErrNotFound) {
				return &notFoundError{fmt.Sprintf("no active instance named %q", args[0])}
			}
			if err != nil {
				return err
			}
			return p.one(instanceRow{Instance: *in}, instanceView1)
		}),
	}

	var waitStatus string
	waitCmd := &cobra.Command{
		Use:               "wait ID|NAME --status STATUS",
		ValidArgsFunction: a.completeInstances,
		Short:             "Wait until an instance has a status (Ctrl-C stops waiting)",
		Example: `  nebula instance wait 42 --status Running
  nebula instance wait 42 --status Deleted`,
		Args: cobra.ExactArgs(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			st, err := parseStatus(waitStatus)
			if err != nil {
				return err
			}
			p, err := newPrinter(a, a.instanceColumns())
			if err != nil {
				return err
			}
			client, err := a.client(cmd)
			if err != nil {
				return err
			}
			id := nebula.ID(args[0])
			target, err := getInstance(cmd.Context(), client, args[0])
			var nf *notFoundError
			switch {
			case err == nil:
				id = target.ID
			case errors.As(err, &nf) && st == statusDeleted:
				// Gone already, or never there: the wait below tells
				// by ID.
			default:
				return err
			}
			prog := a.newProgress("instance " + args[0])
			defer prog.done()
			in, err := waitInstance(cmd.Context(), client, id, st, prog)
			if err != nil {
				return a.waitError(cmd.Context(), err, id, "", st)
			}
			prog.done()
			if in == nil { // Deleted: gone
				fmt.Fprintf(a.Err, "Instance %s is deleted.\n", id)
				return nil
			}
			return p.one(instanceRow{Instance: *in}, instanceView1)
		}),
	}
	waitCmd.Flags().StringVar(&waitStatus, "status", "", "the status to wait for: Running, Stopped, Deleted, ...")
	_ = waitCmd.RegisterFlagCompletionFunc("status", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, s := range instanceStatuses {
			out = append(out, string(s))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})

	return group("instance", "Manage GPU instances",
		"  nebula instance list\n  nebula instance create trainer --product P --image I --ssh-key 7 --wait",
		create, list, get, lookup,
		a.instanceAction("start", "Start a stopped instance", statusRunning),
		a.instanceAction("stop", "Stop (shut down) an instance", statusStopped),
		a.instanceAction("reboot", "Reboot an instance", statusRunning),
		a.instanceAction("delete", "Delete an instance for good", statusDeleted),
		waitCmd)
}

// instanceAction is start, stop, reboot or delete, each with --wait.
func (a *App) instanceAction(verb, short string, until instStatus) *cobra.Command {
	var wait bool
	c := &cobra.Command{
		Use:               verb + " ID|NAME [--wait]",
		ValidArgsFunction: a.completeInstances,
		Short:             short,
		Example:           fmt.Sprintf("  nebula instance %s 42\n  nebula instance %s trainer --wait", verb, verb),
		Args:              cobra.ExactArgs(1),
		RunE: withPrinterClient(a, a.instanceColumns(), func(cmd *cobra.Command, args []string, p *printer[instanceRow], client *nebula.Client) error {
			ctx := cmd.Context()
			target, err := getInstance(ctx, client, args[0])
			if err != nil {
				return err
			}
			id := target.ID
			switch verb {
			case "start":
				err = client.Instances.Start(ctx, id)
			case "stop":
				err = client.Instances.Stop(ctx, id)
			case "reboot":
				err = client.Instances.Reboot(ctx, id)
			case "delete":
				err = client.Instances.Delete(ctx, id)
			}
			if err != nil {
				return err
			}
			if !wait {
				fmt.Fprintf(a.Err, "Instance %s: %s requested (nebula instance wait %s --status %s waits for it).\n", id, verb, id, until)
				return nil
			}
			prog := a.newProgress("instance " + args[0])
			defer prog.done()
			in, err := waitInstance(ctx, client, id, until, prog)
			if err != nil {
				return a.waitError(ctx, err, id, "", until)
			}
			prog.done()
			if in == nil {
				fmt.Fprintf(a.Err, "Instance %s is deleted.\n", id)
				return nil
			}
			return p.one(instanceRow{Instance: *in}, instanceView1)
		}),
	}
	c.Flags().BoolVar(&wait, "wait", false, fmt.Sprintf("wait until the instance is %s, with progress on stderr", until))
	return c
}

// resolveSSHKey finds the SSH key --ssh-key names, by ID or else by name,
// before the (billed) create is sent: a key that is not there, or a name
// given where an ID goes, was sent as it was and refused by the API.
func resolveSSHKey(ctx context.Context, client *nebula.Client, idOrName string) (nebula.ID, error) {
	var byName nebula.ID // the API refuses two keys of one name
	for k, err := range client.SSHKeys.All(ctx) {
		if err != nil {
			return "", fmt.Errorf("reading the SSH keys (nothing was created): %w", err)
		}
		if string(k.ID) == idOrName {
			return k.ID, nil
		}
		if k.Name == idOrName && byName == "" {
			byName = k.ID
		}
	}
	if byName == "" {
		return "", &notFoundError{fmt.Sprintf("no SSH key with ID or name %q (nothing was created): see nebula ssh-key list", idOrName)}
	}
	return byName, nil
}

// waitError explains a wait that ended without the status, Ctrl-C or a
// failure (the API failing its reads): the instance is left as it is, and
// the message says how to wait again.
func (a *App) waitError(ctx context.Context, err error, id nebula.ID, name string, st instStatus) error {
	who := "instance " + string(id)
	if name != "" {
		who = fmt.Sprintf("instance %s (%q)", id, name)
	}
	again := fmt.Sprintf("run\n  nebula instance wait %s --status %s\nto wait again", id, st)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return &interruptedError{err, fmt.Sprintf("stopped waiting; %s was left as it is (nothing was deleted): %s", who, again)}
	}
	return fmt.Errorf("%w\nwaiting for %s to be %s failed; it was left as it is: %s", err, who, st, again)
}

// completeInstances offers the active instances' names for an ID|NAME
// argument.
func (a *App) completeInstances(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	client, err := a.client(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for in, err := range client.Instances.All(cmd.Context()) {
		if err != nil {
			break
		}
		names = append(names, in.Name+"\t"+string(in.Status))
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// getInstance finds an active instance by ID, else by name (an ID wins
// over a name, as in hcloud).
func getInstance(ctx context.Context, client *nebula.Client, ref string) (*nebula.Instance, error) {
	in, err := client.Instances.Get(ctx, nebula.ID(ref))
	if err == nil {
		return in, nil
	}
	if !errors.Is(err, nebula.ErrNotFound) && !errors.Is(err, nebula.ErrInvalidArgument) {
		return nil, err
	}
	found, lerr := client.Instances.Lookup(ctx, ref)
	if errors.Is(lerr, nebula.ErrNotFound) || errors.Is(lerr, nebula.ErrInvalidArgument) {
		return nil, &notFoundError{fmt.Sprintf("no instance with ID or name %q", ref)}
	}
	if lerr != nil {
		return nil, lerr
	}
	// The list does not show the login; the detail does.
	return client.Instances.Get(ctx, found.ID)
}

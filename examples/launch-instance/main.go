// Command launch-instance launches the cheapest available GPU instance and
// tells you how to ssh into it.
//
// It picks the cheapest available product and an OS image from the same
// region and data centre, makes sure the account has your SSH public key
// (-ssh-key PATH, or the first ~/.ssh/*.pub; added when no key with the
// same public key is there), creates the instance, shows each status change
// until it is Running (Instances.Create and Instances.Wait with
// nebula.WithProgress) and prints the ssh command. Ctrl-C while it runs
// deletes the instance, saying so while it does, and exits with status 130;
// -cleanup deletes it at the end too. Any failure after the create deletes
// it as well, so a failed run leaves nothing that costs money. -h lists the
// flags and exits 0.
//
// With NEBULA_API_KEY set it uses the real Nebula API (NEBULA_API_URL, if
// set, names another base URL), names the URL before it spends anything,
// and the instance costs money while it exists. Without it, it starts an embedded fake API from package
// nebulatest and says so, so it runs anywhere: no account, no network, and
// no ~/.ssh (an ephemeral key is generated then).
//
//	go run ./examples/launch-instance [-name NAME] [-ssh-key ~/.ssh/id_ed25519.pub] [-cleanup] [-timeout 15m]
package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

func main() {
	// Ctrl-C (or SIGTERM) cancels ctx; launch then deletes the instance.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Getenv, os.Args[1:])
	code := exitCode(ctx, err)
	stop()
	if err != nil && code != 0 {
		fmt.Fprintln(os.Stderr, "launch-instance:", err)
	}
	os.Exit(code)
}

// exitCode is the process's exit status: 0 on success and for -h, 130 (the
// shell's 128 + SIGINT) when the run was interrupted, 1 otherwise.
func exitCode(ctx context.Context, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case ctx.Err() != nil:
		return 130
	}
	return 1
}

// options are the command line's.
type options struct {
	name    string        // instance name; generated when empty
	sshKey  string        // path of a public key; ~/.ssh/*.pub when empty
	cleanup bool          // delete the instance at the end
	timeout time.Duration // how long to wait for Running
}

// launcher runs one launch.
type launcher struct {
	client *nebula.Client
	out    io.Writer
	home   string        // where ~/.ssh is; "" means there is none
	poll   time.Duration // time between status checks
	fake   bool          // an embedded fake: an ephemeral SSH key will do
}

// run is the command; getenv is os.Getenv and args os.Args[1:] outside
// tests.
func run(ctx context.Context, out io.Writer, getenv func(string) string, args []string) error {
	fs := flag.NewFlagSet("launch-instance", flag.ContinueOnError)
	fs.SetOutput(out)
	var opts options
	fs.StringVar(&opts.name, "name", "", "instance name (default: launch-<date>-<random>)")
	fs.StringVar(&opts.sshKey, "ssh-key", "", "path of an OpenSSH public key (default: the first ~/.ssh/*.pub)")
	fs.BoolVar(&opts.cleanup, "cleanup", false, "delete the instance at the end")
	fs.DurationVar(&opts.timeout, "timeout", 15*time.Minute, "how long to wait for the instance to be Running")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: every option is a flag (-h lists them)", fs.Args())
	}
	if opts.timeout <= 0 {
		return errors.New("-timeout must be positive")
	}

	l := &launcher{out: out, home: getenv("HOME")}
	var err error
	if getenv("NEBULA_API_KEY") != "" {
		// The URL is printed only once the SDK has accepted it: the
		// variables swapped would otherwise print the key.
		url := cmp.Or(getenv("NEBULA_API_URL"), nebula.DefaultBaseURL)
		if l.client, err = nebula.NewClient(nebula.WithToken(getenv("NEBULA_API_KEY")), nebula.WithBaseURL(url)); err != nil {
			return err
		}
		fmt.Fprintf(out, "Using the Nebula API at %s (NEBULA_API_KEY is set): the instance costs money while it exists.\n", url)
		l.poll = 5 * time.Second
	} else {
		// A boot time long enough to see the instance go from Creating to
		// Running.
		srv := nebulatest.NewServer(nebulatest.WithBootTime(300 * time.Millisecond))
		defer srv.Close()
		fmt.Fprintf(out, "NEBULA_API_KEY is not set: using an embedded fake Nebula API at %s (nothing is billed).\n", srv.URL)
		l.client, err = srv.NewClient()
		l.poll, l.fake = 100*time.Millisecond, true
	}
	if err != nil {
		return err
	}
	return l.launch(ctx, opts)
}

// launch picks a product and image, ensures the SSH key, creates the
// instance and waits for it. Once the instance may exist, any failure (ctx
// ended by Ctrl-C included) deletes it before launch returns.
func (l *launcher) launch(ctx context.Context, opts options) (err error) {
	product, img, err := l.pick(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(l.out, "Product: %d× %s in %s at $%s/hour (%s)\n", product.GPUCount, product.GPU, product.Region, product.PricePerHour, product.ID)
	fmt.Fprintf(l.out, "Image:   %s (%s)\n", img.OSName, img.ID)

	key, err := l.ensureSSHKey(ctx, opts.sshKey)
	if err != nil {
		return err
	}

	name := opts.name
	if name == "" {
		if name, err = generatedName(); err != nil {
			return err
		}
	}
	// Create refuses a name an active instance has; looking first also
	// means that an instance found under the name after a failed create
	// is this run's, so deleting it is safe.
	switch _, err := l.client.Instances.Lookup(ctx, name); {
	case err == nil:
		return fmt.Errorf("an instance named %q exists already: choose another -name", name)
	case !errors.Is(err, nebula.ErrNotFound):
		return fmt.Errorf("checking the name %q: %w", name, err)
	}

	fmt.Fprintf(l.out, "Creating instance %q...\n", name)
	progress := l.progress()
	in, err := l.client.Instances.Create(ctx, nebula.CreateInstanceRequest{
		Name: name, ProductID: product.ID, ImageID: img.ID, SSHKeyID: key.ID,
	}, progress, nebula.WithCallPolling(l.poll, 4*l.poll))
	if err != nil {
		if mayExist(ctx, err) {
			err = errors.Join(err, l.deleteNamed(ctx, name))
		}
		return fmt.Errorf("create: %w", err)
	}
	defer func() {
		if err != nil || opts.cleanup {
			err = errors.Join(err, l.delete(ctx, in.ID))
		}
	}()
	fmt.Fprintf(l.out, "Created instance %s.\n", in.ID)

	waitCtx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	running, err := l.client.Instances.Wait(waitCtx, in.ID, nebula.StatusRunning, progress, nebula.WithCallPolling(l.poll, 4*l.poll))
	if err != nil {
		return fmt.Errorf("waiting for Running: %w", err)
	}

	user := cmp.Or(running.Username, "<user>")
	fmt.Fprintf(l.out, "Ready:   ssh -i <your private key> %s@%s\n", user, cmp.Or(running.PublicIPv4, "<public IP: not assigned yet>"))
	// running.Password is a nebula.Secret: it would print redacted anyway.
	fmt.Fprintf(l.out, "The instance password is not printed: read it from the Nebula console, or in Go with client.Instances.Get(ctx, %q) and Instance.Password.Reveal().\n", in.ID)
	switch {
	case opts.cleanup:
	case l.fake:
		fmt.Fprintf(l.out, "Instance %s would keep running and cost $%s/hour until deleted; the embedded fake ends with this program.\n", in.ID, product.PricePerHour)
	default:
		fmt.Fprintf(l.out, "Instance %s keeps running and costs $%s/hour until you delete it (the console, client.Instances.Delete, or -cleanup next time).\n", in.ID, product.PricePerHour)
	}
	return nil
}

// pick returns the cheapest available product that has an image in its
// region and data centre, and that image (the first such in the catalog).
func (l *launcher) pick(ctx context.Context) (nebula.Product, nebula.Image, error) {
	products, err := l.client.Compute.Products(ctx)
	if err != nil {
		return nebula.Product{}, nebula.Image{}, fmt.Errorf("products: %w", err)
	}
	type priced struct {
		p     nebula.Product
		price float64
	}
	var offers []priced
	for _, p := range products {
		price, err := p.PricePerHour.Float64()
		if !p.Available || err != nil {
			continue
		}
		offers = append(offers, priced{p, price})
	}
	slices.SortStableFunc(offers, func(a, b priced) int { return cmp.Compare(a.price, b.price) })
	for _, o := range offers {
		images, err := l.client.Compute.ImagesFor(ctx, o.p)
		if err != nil {
			return nebula.Product{}, nebula.Image{}, fmt.Errorf("images: %w", err)
		}
		if len(images) > 0 {
			return o.p, images[0], nil
		}
	}
	return nebula.Product{}, nebula.Image{}, fmt.Errorf("no available product has an OS image in its region and data centre (%d products, %d available)", len(products), len(offers))
}

// ensureSSHKey returns the account's SSH key with the public key at path
// (or the first ~/.ssh/*.pub), adding it when the account has none with
// that public key.
func (l *launcher) ensureSSHKey(ctx context.Context, path string) (*nebula.SSHKey, error) {
	line, source, err := l.publicKey(path)
	if err != nil {
		return nil, err
	}
	for k, err := range l.client.SSHKeys.All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("SSH keys: %w", err)
		}
		if sameKey(k.PublicKey, line) {
			fmt.Fprintf(l.out, "SSH key: %s, already in the account as %q (id %s)\n", source, k.Name, k.ID)
			return &k, nil
		}
	}
	key, err := l.client.SSHKeys.Create(ctx, nebula.CreateSSHKeyRequest{Name: "launch-instance-" + fingerprint(line), PublicKey: line})
	if err != nil {
		return nil, fmt.Errorf("adding the SSH key from %s: %w", source, err)
	}
	fmt.Fprintf(l.out, "SSH key: %s, added to the account as %q (id %s)\n", source, key.Name, key.ID)
	return key, nil
}

// publicKey reads the public key line at path, or the first ~/.ssh/*.pub;
// against the fake, without either, it makes an ephemeral one. source
// says where the key came from.
func (l *launcher) publicKey(path string) (line, source string, err error) {
	if path == "" && l.home != "" {
		found, _ := filepath.Glob(filepath.Join(l.home, ".ssh", "*.pub")) // sorted; only a bad pattern errs
		if len(found) > 0 {
			path = found[0]
		}
	}
	if path == "" {
		if !l.fake {
			return "", "", errors.New("no SSH public key: none in ~/.ssh/*.pub; pass -ssh-key PATH (make one with ssh-keygen -t ed25519)")
		}
		line, err := ephemeralKey()
		return line, "none in ~/.ssh, so an ephemeral ed25519 key made for the fake (its private half is discarded)", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("reading the SSH public key: %w", err)
	}
	// The SDK checks the line, and refuses a private key without quoting
	// it; only say which file it was.
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l, path, nil
		}
	}
	return "", "", fmt.Errorf("%s holds no public key", path)
}

// progress is a WithProgress that prints each status once, however many
// calls (Create, then Wait) report it.
func (l *launcher) progress() nebula.CallOption {
	var last nebula.InstanceStatus
	return nebula.WithProgress(func(in nebula.Instance) {
		if last == "" || !in.Status.Is(last) {
			fmt.Fprintf(l.out, "Status:  %s\n", in.Status)
			last = in.Status
		}
	})
}

// delete deletes instance id, with time of its own: ctx may be what ended
// the run.
func (l *launcher) delete(ctx context.Context, id nebula.ID) error {
	if ctx.Err() != nil {
		fmt.Fprintf(l.out, "Interrupted: deleting instance %s so that it costs nothing more...\n", id)
	} else {
		fmt.Fprintf(l.out, "Deleting instance %s...\n", id)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := l.client.Instances.Delete(ctx, id); err != nil {
		return fmt.Errorf("deleting instance %s failed, delete it yourself (it costs money): %w", id, err)
	}
	// The API accepted the delete; the instance is gone once it is Deleted.
	if _, err := l.client.Instances.Wait(ctx, id, nebula.StatusDeleted, nebula.WithCallPolling(l.poll, 4*l.poll)); err != nil {
		return fmt.Errorf("instance %s is being deleted, but it was not seen gone (check the console: it costs money until it is): %w", id, err)
	}
	fmt.Fprintf(l.out, "Deleted instance %s.\n", id)
	return nil
}

// deleteNamed deletes the instance a failed create may have made.
func (l *launcher) deleteNamed(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	in, err := l.client.Instances.Lookup(ctx, name)
	switch {
	case errors.Is(err, nebula.ErrNotFound):
		fmt.Fprintf(l.out, "No instance %q was created.\n", name)
		return nil
	case err != nil:
		return fmt.Errorf("cannot tell whether instance %q was created (look in the console: it costs money): %w", name, err)
	}
	return l.delete(ctx, in.ID)
}

// mayExist tells whether a failed Create may have made the instance: its
// outcome is unknown, it was made but not listed in time, or ctx ended
// while the request was under way. ErrConflict and ErrInvalidArgument
// mean nothing was created; so does an answer of the API refusing it.
func mayExist(ctx context.Context, err error) bool {
	var notListed *nebula.InstanceNotListedError
	switch {
	case errors.Is(err, nebula.ErrInvalidArgument), errors.Is(err, nebula.ErrConflict):
		return false
	case errors.Is(err, nebula.ErrOutcomeUnknown), errors.As(err, &notListed):
		return true
	}
	var apiErr *nebula.APIError
	return ctx.Err() != nil && !errors.As(err, &apiErr)
}

// generatedName is launch-<UTC date and time>-<4 random hex digits>.
func generatedName() (string, error) {
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "launch-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b), nil
}

// ephemeralKey is a fresh ed25519 public key in OpenSSH's line format:
// "ssh-ed25519 " + base64 of (string "ssh-ed25519", string key), each string
// a big-endian uint32 length and its bytes (RFC 4253 §6.6, RFC 8709).
func ephemeralKey() (string, error) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	var blob []byte
	for _, s := range [][]byte{[]byte("ssh-ed25519"), pub} {
		blob = binary.BigEndian.AppendUint32(blob, uint32(len(s)))
		blob = append(blob, s...)
	}
	return "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " launch-instance-ephemeral", nil
}

// sameKey compares the key type and key of two OpenSSH lines, not their
// comments.
func sameKey(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) >= 2 && len(fb) >= 2 && fa[0] == fb[0] && fa[1] == fb[1]
}

// fingerprint is a short hex digest of the key (not its comment), so that
// the name of an added key says which key it is.
func fingerprint(line string) string {
	f := strings.Fields(line)
	if len(f) >= 2 {
		line = f[0] + " " + f[1]
	}
	sum := sha256.Sum256([]byte(line))
	return hex.EncodeToString(sum[:4])
}

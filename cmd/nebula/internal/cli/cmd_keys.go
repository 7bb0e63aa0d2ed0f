package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	nebula "github.com/nebula-sdk/nebula-go"
)

type apiKeyView struct {
	ID          nebula.ID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	PartialKey  string    `json:"partial_key,omitempty"`
	// Key is set only for a key just created or rotated: its one showing.
	Key string `json:"key,omitempty"`
}

var apiKeyColumns = columns[apiKeyView]{
	{"ID", func(v apiKeyView) string { return string(v.ID) }, true},
	{"NAME", func(v apiKeyView) string { return v.Name }, true},
	{"DESCRIPTION", func(v apiKeyView) string { return v.Description }, true},
	{"PARTIAL_KEY", func(v apiKeyView) string { return v.PartialKey }, true},
}

var createdKeyColumns = columns[apiKeyView]{
	{"ID", func(v apiKeyView) string { return string(v.ID) }, true},
	{"NAME", func(v apiKeyView) string { return v.Name }, true},
	{"DESCRIPTION", func(v apiKeyView) string { return v.Description }, true},
	{"KEY", func(v apiKeyView) string { return v.Key }, true},
}

func createdView(k *nebula.CreatedAPIKey) apiKeyView {
	// The one place a key value is revealed: create and rotate print it once.
	return apiKeyView{ID: k.ID, Name: k.Name, Description: k.Description, Key: k.Key.Reveal()}
}

const keyOnceWarning = "Save this key now: the API never shows its value again.\n"

// lostKeyError is a created key whose value could not be written (stdout
// closed, a full disk): it is lost, so the key is useless and only to be
// deleted.
func lostKeyError(k *nebula.CreatedAPIKey, err error) error {
	return fmt.Errorf("the key %q was created (ID %s), but its value could not be written: %w\nits value is lost: delete the key with\n  nebula api-key delete %s", k.Name, k.ID, err, k.ID)
}

// oldKeyKept reports a rotation's failed delete that the API refused (a
// 4xx answer): the old key still works. Any other failure (a connection
// lost, a 502 after the retries) may have come after the API deleted it.
func oldKeyKept(err error) bool {
	var apiErr *nebula.APIError
	return errors.As(err, &apiErr) && apiErr.HTTPStatus >= 400 && apiErr.HTTPStatus < 500
}

// rotatedTime is the time rotatedName adds to a key's name.
var rotatedTime = regexp.MustCompile(`-[0-9]{8}-[0-9]{6}(-2)?$`)

// rotatedName names the key that replaces one called name: name and the
// time, in place of the time an earlier rotation added, so that the name
// does not grow by 16 characters at every rotation.
func rotatedName(name string, now time.Time) string {
	next := rotatedTime.ReplaceAllString(name, "") + "-" + now.UTC().Format("20060102-150405")
	if next == name {
		// Rotated again within the same second: the API refuses a
		// second key of one name, and the old key still has it.
		next += "-2"
	}
	return next
}

func (a *App) apiKeyCommand() *cobra.Command {
	var description string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an API key and print its value, once",
		Example: `  nebula api-key create ci --description "CI pipeline"
  nebula api-key create ci --columns key --no-header > ci.key`,
		Args: cobra.ExactArgs(1),
		RunE: withPrinterClient(a, createdKeyColumns, func(cmd *cobra.Command, args []string, p *printer[apiKeyView], client *nebula.Client) error {
			if err := p.mustShow("KEY"); err != nil {
				return err
			}
			k, err := client.APIKeys.Create(cmd.Context(), nebula.CreateAPIKeyRequest{Name: args[0], Description: description})
			if err != nil {
				if errors.Is(err, nebula.ErrOutcomeUnknown) {
					return &unknownError{err, fmt.Sprintf("the key %q may have been created: run\n  nebula api-key list\nto see whether it exists before creating it again", args[0])}
				}
				return err
			}
			fmt.Fprint(a.Err, keyOnceWarning)
			if err := p.one(createdView(k)); err != nil {
				return lostKeyError(k, err)
			}
			return nil
		}),
	}
	create.Flags().StringVar(&description, "description", "", "what the key is for")

	list := &cobra.Command{
		Use:     "list",
		Short:   "List the API keys (never their values)",
		Example: "  nebula api-key list\n  nebula api-key list -o json",
		Args:    cobra.NoArgs,
		RunE: withPrinterClient(a, apiKeyColumns, func(cmd *cobra.Command, _ []string, p *printer[apiKeyView], client *nebula.Client) error {
			keys, err := client.APIKeys.List(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]apiKeyView, 0, len(keys))
			for _, k := range keys {
				rows = append(rows, apiKeyView{ID: k.ID, Name: k.Name, Description: k.Description, PartialKey: k.PartialKey})
			}
			return p.list(rows, func(v apiKeyView) any { return v })
		}),
	}

	del := a.deleteCmd("API key", "Delete (revoke) an API key", "  nebula api-key delete 42",
		func(ctx context.Context, client *nebula.Client, id nebula.ID) error {
			return client.APIKeys.Delete(ctx, id)
		})

	var rotName, rotDescription string
	rotate := &cobra.Command{
		Use:   "rotate ID",
		Short: "Replace an API key: create a new one, print its value once, delete the old one",
		Long: `Creates a new key (named --name, else the old key's name and the time, since
the API refuses two keys of one name), prints its value once,
then deletes the old key. If the delete fails, the new key is still printed
and the command exits 1: the old key then still works.`,
		Example: "  nebula api-key rotate 42\n  nebula api-key rotate 42 --name ci-2025 -o json",
		Args:    cobra.ExactArgs(1),
		RunE: withPrinterClient(a, createdKeyColumns, func(cmd *cobra.Command, args []string, p *printer[apiKeyView], client *nebula.Client) error {
			if err := p.mustShow("KEY"); err != nil {
				return err
			}
			old := nebula.ID(args[0])
			req := nebula.CreateAPIKeyRequest{Name: rotName, Description: rotDescription}
			if req.Name == "" || !cmd.Flags().Changed("description") {
				keys, err := client.APIKeys.List(cmd.Context())
				if err != nil {
					return err
				}
				found := false
				for _, k := range keys {
					if k.ID == old {
						found = true
						if req.Name == "" {
							// The API refuses a second key of the same
							// name, and the old one lives until the new
							// one exists.
							req.Name = rotatedName(k.Name, time.Now())
						}
						if !cmd.Flags().Changed("description") {
							req.Description = k.Description
						}
					}
				}
				if !found {
					return &notFoundError{fmt.Sprintf("no API key with ID %s: see nebula api-key list", old)}
				}
			}
			k, err := client.APIKeys.Rotate(cmd.Context(), old, req)
			if k != nil {
				fmt.Fprint(a.Err, keyOnceWarning)
				if perr := p.one(createdView(k)); perr != nil {
					switch {
					case err != nil && !oldKeyKept(err):
						return &unknownError{err, fmt.Sprintf("%v\nthe old key %s may have been deleted: run\n  nebula api-key list\nto see whether it still exists", lostKeyError(k, perr), old)}
					case err != nil:
						return fmt.Errorf("%w\nthe old key %s was not deleted and still works (%v)", lostKeyError(k, perr), old, err)
					}
					return fmt.Errorf("%w\nthe old key %s was deleted: create a new key with nebula api-key create", lostKeyError(k, perr), old)
				}
			}
			if err != nil {
				if k == nil && errors.Is(err, nebula.ErrOutcomeUnknown) {
					return &unknownError{err, fmt.Sprintf("the new key %q may have been created (the old key %s is untouched): run\n  nebula api-key list\nto see whether it exists", req.Name, old)}
				}
				if k != nil && !oldKeyKept(err) {
					return &unknownError{err, fmt.Sprintf("the new key is printed above; the old key %s may have been deleted: run\n  nebula api-key list\nto see whether it still exists", old)}
				}
				if k != nil {
					return fmt.Errorf("the new key is printed above, but the old key %s was not deleted and still works: %w", old, err)
				}
				return err
			}
			return nil
		}),
	}
	rotate.Flags().StringVar(&rotName, "name", "", "the new key's name (default: the old key's name and the time)")
	rotate.Flags().StringVar(&rotDescription, "description", "", "the new key's description (default: the old key's)")

	return group("api-key", "Manage API keys", "  nebula api-key list\n  nebula api-key create ci", create, list, del, rotate)
}

type sshKeyView struct {
	ID        nebula.ID `json:"id"`
	Name      string    `json:"name"`
	PublicKey string    `json:"public_key"`
	CreatedAt string    `json:"created_at"`
}

func (a *App) sshKeyColumns() columns[nebula.SSHKey] {
	return columns[nebula.SSHKey]{
		{"ID", func(k nebula.SSHKey) string { return string(k.ID) }, true},
		{"NAME", func(k nebula.SSHKey) string { return k.Name }, true},
		{"TYPE", func(k nebula.SSHKey) string { return sshKeyType(k.PublicKey) }, true},
		{"CREATED", func(k nebula.SSHKey) string { return a.short(k.CreatedAt) }, true},
		{"PUBLIC_KEY", func(k nebula.SSHKey) string { return k.PublicKey }, false},
	}
}

func sshKeyView1(k nebula.SSHKey) any {
	return sshKeyView{k.ID, k.Name, k.PublicKey, rfc3339(k.CreatedAt)}
}

func sshKeyType(line string) string {
	if i := bytes.IndexByte([]byte(line), ' '); i > 0 {
		return line[:i]
	}
	return line
}

func (a *App) sshKeyCommand() *cobra.Command {
	var file string
	create := &cobra.Command{
		Use:     "create NAME --public-key-file FILE",
		Short:   "Add an SSH public key (a private key is refused)",
		Example: "  nebula ssh-key create laptop --public-key-file ~/.ssh/id_ed25519.pub",
		Args:    cobra.ExactArgs(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			p, err := newPrinter(a, a.sshKeyColumns())
			if err != nil {
				return err
			}
			if file == "" {
				return usagef("--public-key-file is required")
			}
			data, err := readSmall(file, 64<<10)
			if err != nil {
				return &usageError{err}
			}
			// Checked here too so that the message names the file and never
			// shows its content.
			if bytes.Contains(data, []byte("PRIVATE KEY")) || bytes.Contains(data, []byte("PuTTY-User-Key-File")) {
				return usagef("%s holds a private key: give the public key (the .pub file) instead; nothing was sent", file)
			}
			if bytes.Contains(data, []byte("-----BEGIN")) || bytes.Contains(data, []byte("---- BEGIN SSH2")) {
				return usagef("%s holds a key in PEM or SSH2 armour, which the API does not take; nothing was sent: convert it to the OpenSSH form with ssh-keygen -i -f %s (-m PKCS8 for PEM)", file, shellQuote(file))
			}
			client, err := a.client(cmd)
			if err != nil {
				return err
			}
			k, err := client.SSHKeys.Create(cmd.Context(), nebula.CreateSSHKeyRequest{Name: args[0], PublicKey: string(bytes.TrimSpace(data))})
			if err != nil {
				if errors.Is(err, nebula.ErrOutcomeUnknown) {
					return &unknownError{err, fmt.Sprintf("the SSH key %q may have been added: run\n  nebula ssh-key list\nto see whether it exists", args[0])}
				}
				return err
			}
			return p.one(*k, sshKeyView1)
		}),
	}
	create.Flags().StringVar(&file, "public-key-file", "", "the OpenSSH public key file (.pub)")
	_ = create.MarkFlagFilename("public-key-file", "pub")

	list := &cobra.Command{
		Use:     "list",
		Short:   "List the SSH keys",
		Example: "  nebula ssh-key list\n  nebula ssh-key list --columns id,name,public_key",
		Args:    cobra.NoArgs,
		RunE: withPrinterClient(a, a.sshKeyColumns(), func(cmd *cobra.Command, _ []string, p *printer[nebula.SSHKey], client *nebula.Client) error {
			var rows []nebula.SSHKey
			for k, err := range client.SSHKeys.All(cmd.Context()) {
				if err != nil {
					return err
				}
				rows = append(rows, k)
			}
			return p.list(rows, sshKeyView1)
		}),
	}
	rename := &cobra.Command{
		Use:     "rename ID NAME",
		Short:   "Rename an SSH key",
		Example: "  nebula ssh-key rename 7 work-laptop",
		Args:    cobra.ExactArgs(2),
		RunE: withPrinterClient(a, a.sshKeyColumns(), func(cmd *cobra.Command, args []string, p *printer[nebula.SSHKey], client *nebula.Client) error {
			k, err := client.SSHKeys.Rename(cmd.Context(), nebula.ID(args[0]), args[1])
			if err != nil {
				return err
			}
			return p.one(*k, sshKeyView1)
		}),
	}
	del := a.deleteCmd("SSH key", "Delete an SSH key", "  nebula ssh-key delete 7",
		func(ctx context.Context, client *nebula.Client, id nebula.ID) error {
			return client.SSHKeys.Delete(ctx, id)
		})
	return group("ssh-key", "Manage SSH keys", "  nebula ssh-key list", create, list, rename, del)
}

// deleteCmd is "delete ID" for a key kind, noun ("API key"): it deletes by
// ID and says so on stderr.
func (a *App) deleteCmd(noun, short, example string, del func(ctx context.Context, client *nebula.Client, id nebula.ID) error) *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID",
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: a.withClient(func(cmd *cobra.Command, client *nebula.Client, args []string) error {
			if err := del(cmd.Context(), client, nebula.ID(args[0])); err != nil {
				return err
			}
			fmt.Fprintf(a.Err, "Deleted %s %s\n", noun, args[0])
			return nil
		}),
	}
}

// readSmall reads a file of at most limit bytes.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a public key", path, limit)
	}
	return data, nil
}

package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	nebula "github.com/nebula-sdk/nebula-go"
)

func (a *App) authCommand() *cobra.Command {
	login := &cobra.Command{
		Use:   "login",
		Short: "Save an API key in a context, after checking it with the API",
		Long: `Reads an API key (a prompt without echo on a terminal, else the first line of
stdin), checks it with a read (the API key list), and saves it in the context
(--context, else the active one, else "default"), which becomes the active one.
The configuration file is written with mode 0600.`,
		Example: `  nebula auth login
  nebula auth login --context staging --api-url https://staging.example/api/v1 < key.txt`,
		Args: cobra.NoArgs,
		RunE: a.run(a.login),
	}
	status := &cobra.Command{
		Use:     "status",
		Short:   "Show which context, API URL and key (masked) commands use",
		Example: "  nebula auth status\n  NEBULA_API_KEY=ak_... nebula auth status -o json",
		Args:    cobra.NoArgs,
		RunE:    a.run(a.authStatus),
	}
	logout := &cobra.Command{
		Use:     "logout",
		Short:   "Forget the key of a context (the active one, or --context)",
		Example: "  nebula auth logout\n  nebula auth logout --context staging",
		Args:    cobra.NoArgs,
		RunE:    a.run(a.logout),
	}
	return group("auth", "Log in and out", "  nebula auth login\n  nebula auth status", login, status, logout)
}

func (a *App) readKey() (string, error) {
	if a.StdinIsTerminal && a.ReadPassword != nil {
		fmt.Fprint(a.Err, "API key: ")
		key, err := a.ReadPassword()
		fmt.Fprintln(a.Err)
		if err != nil {
			return "", fmt.Errorf("reading the key: %w", err)
		}
		return strings.TrimSpace(key), nil
	}
	line, err := bufio.NewReader(io.LimitReader(a.In, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the key from stdin: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func (a *App) login(cmd *cobra.Command, _ []string) error {
	cfg, path, err := a.loadConfig()
	if err != nil {
		return err
	}
	name := a.global.context
	if name == "" {
		name = cfg.ActiveContext
	}
	if name == "" {
		name = "default"
	}
	// --api-url, then NEBULA_API_URL, then the context's: the order every
	// other command follows (the context's came before the variable).
	url := a.global.apiURL
	if url == "" {
		url = a.env("NEBULA_API_URL")
	}
	if url == "" {
		if c := cfg.find(name); c != nil {
			url = c.APIURL
		}
	}
	key, err := a.readKey()
	if err != nil {
		return &usageError{err}
	}
	if key == "" {
		return usagef("no API key given (type it at the prompt, or pipe it on stdin)")
	}
	checkURL := url
	if checkURL == "" {
		checkURL = nebula.DefaultBaseURL
	}
	a.catchInterrupts(cmd)
	client, err := a.newClient(checkURL, key)
	if err != nil {
		return err
	}
	if _, err := client.APIKeys.List(cmd.Context()); err != nil {
		if errors.Is(err, nebula.ErrUnauthorized) {
			return fmt.Errorf("the API refused the key (nothing was saved): %w", err)
		}
		return fmt.Errorf("checking the key (nothing was saved): %w", err)
	}
	c := cfg.find(name)
	if c == nil {
		cfg.Contexts = append(cfg.Contexts, Context{Name: name})
		c = &cfg.Contexts[len(cfg.Contexts)-1]
	}
	c.APIKey = key
	if url != "" {
		c.APIURL = url
	}
	cfg.ActiveContext = name
	if err := saveConfig(cfg, path); err != nil {
		return err
	}
	fmt.Fprintf(a.Err, "Logged in: context %q (%s), key %s, saved in %s\n", name, checkURL, mask(key), path)
	return nil
}

type statusView struct {
	Context string `json:"context"`
	APIURL  string `json:"api_url"`
	Key     string `json:"key"`
	Source  string `json:"source"`
}

var statusColumns = columns[statusView]{
	{"CONTEXT", func(v statusView) string { return v.Context }, true},
	{"API_URL", func(v statusView) string { return v.APIURL }, true},
	{"KEY", func(v statusView) string { return v.Key }, true},
	{"SOURCE", func(v statusView) string { return v.Source }, true},
}

func (a *App) authStatus(cmd *cobra.Command, _ []string) error {
	p, err := newPrinter(a, statusColumns)
	if err != nil {
		return err
	}
	cred, err := a.credentials()
	if err != nil {
		return err
	}
	return p.one(statusView{cred.context, cred.url, mask(cred.key), cred.source})
}

func (a *App) logout(cmd *cobra.Command, _ []string) error {
	cfg, path, err := a.loadConfig()
	if err != nil {
		return err
	}
	name := a.global.context
	if name == "" {
		name = cfg.ActiveContext
	}
	c := cfg.find(name)
	if c == nil {
		return &notFoundError{fmt.Sprintf("no context named %q: see nebula context list", name)}
	}
	if c.APIKey == "" {
		fmt.Fprintf(a.Err, "Context %q holds no key.\n", name)
		return nil
	}
	c.APIKey = ""
	if err := saveConfig(cfg, path); err != nil {
		return err
	}
	fmt.Fprintf(a.Err, "Logged out: context %q no longer holds a key (the key itself still works; nebula api-key delete revokes it).\n", name)
	return nil
}

type contextView struct {
	Name   string `json:"name"`
	Active bool   `json:"active"`
	APIURL string `json:"api_url"`
	Key    string `json:"key"`
}

var contextColumns = columns[contextView]{
	{"ACTIVE", func(v contextView) string {
		if v.Active {
			return "*"
		}
		return " "
	}, true},
	{"NAME", func(v contextView) string { return v.Name }, true},
	{"API_URL", func(v contextView) string { return v.APIURL }, true},
	{"KEY", func(v contextView) string { return v.Key }, true},
}

func (a *App) contextCommand() *cobra.Command {
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the contexts (the active one marked *)",
		Example: "  nebula context list",
		Args:    cobra.NoArgs,
		RunE: a.run(func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(a, contextColumns)
			if err != nil {
				return err
			}
			cfg, _, err := a.loadConfig()
			if err != nil {
				return err
			}
			rows := make([]contextView, 0, len(cfg.Contexts))
			for _, c := range cfg.Contexts {
				url := c.APIURL
				if url == "" {
					url = nebula.DefaultBaseURL
				}
				rows = append(rows, contextView{c.Name, c.Name == cfg.ActiveContext, url, mask(c.APIKey)})
			}
			return p.list(rows, func(v contextView) any { return v })
		}),
	}
	use := &cobra.Command{
		Use:               "use NAME",
		Short:             "Make a context the active one",
		Example:           "  nebula context use staging",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeContexts,
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			cfg, path, err := a.loadConfig()
			if err != nil {
				return err
			}
			if cfg.find(args[0]) == nil {
				return &notFoundError{fmt.Sprintf("no context named %q: see nebula context list", args[0])}
			}
			cfg.ActiveContext = args[0]
			if err := saveConfig(cfg, path); err != nil {
				return err
			}
			fmt.Fprintf(a.Err, "Active context: %q\n", args[0])
			return nil
		}),
	}
	del := &cobra.Command{
		Use:               "delete NAME",
		Short:             "Delete a context and the key it holds (the key itself still works)",
		Example:           "  nebula context delete staging",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeContexts,
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			cfg, path, err := a.loadConfig()
			if err != nil {
				return err
			}
			kept := cfg.Contexts[:0]
			found := false
			for _, c := range cfg.Contexts {
				if c.Name == args[0] {
					found = true
					continue
				}
				kept = append(kept, c)
			}
			if !found {
				return &notFoundError{fmt.Sprintf("no context named %q: see nebula context list", args[0])}
			}
			cfg.Contexts = kept
			if cfg.ActiveContext == args[0] {
				cfg.ActiveContext = ""
			}
			if err := saveConfig(cfg, path); err != nil {
				return err
			}
			fmt.Fprintf(a.Err, "Deleted context %q\n", args[0])
			return nil
		}),
	}
	return group("context", "Manage contexts (accounts and API URLs)", "  nebula context list\n  nebula context use staging", list, use, del)
}

func (a *App) completeContexts(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cfg, _, err := a.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, c := range cfg.Contexts {
		out = append(out, c.Name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

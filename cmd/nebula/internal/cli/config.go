package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	toml "github.com/pelletier/go-toml/v2"

	nebula "github.com/nebula-sdk/nebula-go"
)

// Config is the configuration file: named contexts, each an API URL and a
// key, and the one in use.
type Config struct {
	ActiveContext string    `toml:"active_context"`
	Contexts      []Context `toml:"contexts"`
}

// Context is one account (or one API) the command line can use.
type Context struct {
	Name   string `toml:"name"`
	APIURL string `toml:"api_url,omitempty"`
	APIKey string `toml:"api_key,omitempty"`
}

func (c *Config) find(name string) *Context {
	for i := range c.Contexts {
		if c.Contexts[i].Name == name {
			return &c.Contexts[i]
		}
	}
	return nil
}

// configPath is $NEBULA_CONFIG, else $XDG_CONFIG_HOME/nebula/config.toml,
// else ~/.config/nebula/config.toml.
// errNoConfigPath is a configuration file that cannot be found: no
// NEBULA_CONFIG, XDG_CONFIG_HOME or HOME.
var errNoConfigPath = errors.New("cannot find the configuration file: set NEBULA_CONFIG or HOME")

func (a *App) configPath() (string, error) {
	if p := a.env("NEBULA_CONFIG"); p != "" {
		return p, nil
	}
	if d := a.env("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "nebula", "config.toml"), nil
	}
	// As os.UserHomeDir, but through a.env, which tests set.
	home := a.env("HOME")
	if runtime.GOOS == "windows" {
		home = a.env("USERPROFILE")
	}
	if home == "" {
		return "", &usageError{errNoConfigPath}
	}
	return filepath.Join(home, ".config", "nebula", "config.toml"), nil
}

// loadConfig reads the configuration file; a missing file is an empty
// configuration. A file that others may read is refused: it holds keys.
func (a *App) loadConfig() (*Config, string, error) {
	path, err := a.configPath()
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, path, nil
	}
	if err != nil {
		return nil, path, usagef("reading the configuration: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, path, usagef("reading the configuration: %v", err)
	}
	if st.IsDir() {
		return nil, path, usagef("the configuration file %s is a directory: set NEBULA_CONFIG to a file", path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, path, usagef("the configuration file %s holds API keys and others may read or change it (mode %04o): run\n  chmod 600 %s", path, st.Mode().Perm(), shellQuote(path))
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, path, usagef("reading the configuration: %v", err)
	}
	var c Config
	if err := toml.Unmarshal(buf.Bytes(), &c); err != nil {
		return nil, path, usagef("the configuration file %s is not valid: %v", path, err)
	}
	return &c, path, nil
}

// saveConfig writes c to path, 0600, through a temporary file renamed over
// the old one: a failed write never leaves half a configuration.
func saveConfig(c *Config, path string) error {
	var buf bytes.Buffer
	buf.WriteString("# nebula command line configuration. It holds API keys: keep it private (mode 0600).\n")
	data, err := toml.Marshal(c)
	if err != nil {
		return err
	}
	buf.Write(data)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving the configuration: %w", err)
	}
	return writeAtomic(path, func(f *os.File) error {
		_, err := f.Write(buf.Bytes())
		return err
	})
}

// writeAtomic writes a file under a temporary name and renames it onto path
// when complete, 0600: a failed write never leaves a file under path, and
// an existing file stays as it was. A symbolic link is followed (the file it
// names is replaced, the link kept: a config file managed as a dotfile
// stays one); a FIFO, a device or any path under /dev or /proc
// (/dev/null, /dev/stdout) is written through, since renaming onto it
// would replace it, or whatever file the shell opened there.
func writeAtomic(path string, write func(*os.File) error) (err error) {
	target, fi, err := resolveOutput(path)
	if err != nil {
		return err
	}
	if fi != nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target)
}

// resolveOutput is where writing path goes: path, or the file its symbolic
// links name, and what is there now (nil when nothing is). A directory is
// bad input.
func resolveOutput(path string) (string, os.FileInfo, error) {
	if isSystemPath(path) {
		// /dev/stdout and its kin lead through /proc to a pipe or to
		// whatever the shell opened: written through, never renamed onto.
		fi, err := os.Stat(path)
		if err != nil {
			return "", nil, usagef("cannot write %s: %v", path, err)
		}
		return path, systemFile{fi}, nil
	}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path, nil, nil
	case err != nil:
		return "", nil, usagef("cannot write %s: %v", path, err)
	}
	target := path
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return "", nil, usagef("cannot write %s: the link leads nowhere: %v", path, err)
		}
		if fi, err = os.Stat(target); err != nil {
			return "", nil, usagef("cannot write %s: %v", path, err)
		}
	}
	if fi.IsDir() {
		return "", nil, usagef("cannot write %s: it is a directory (give a file name)", path)
	}
	return target, fi, nil
}

// isSystemPath reports a path under /dev or /proc (Linux's), which names a
// device, a pipe or a descriptor rather than a file to replace.
func isSystemPath(path string) bool {
	clean := filepath.Clean(path)
	return runtime.GOOS != "windows" && (strings.HasPrefix(clean, "/dev/") || strings.HasPrefix(clean, "/proc/"))
}

// systemFile is a system path's FileInfo, never regular: it is written
// through.
type systemFile struct{ os.FileInfo }

func (systemFile) Mode() fs.FileMode { return fs.ModeDevice }

// checkWritable makes sure a file can be written at path before anything is
// sent (a download or a generated image must not be lost for want of a
// directory, or to a directory of that name): bad input otherwise.
func checkWritable(path string) error {
	target, fi, err := resolveOutput(path)
	if err != nil {
		return err
	}
	if fi != nil && !fi.Mode().IsRegular() {
		return nil // written through; a FIFO's open would wait for a reader
	}
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return usagef("cannot write %s: %v", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// credential is what a command talks to the API with, and where it came
// from (for auth status).
type credential struct {
	context string // "" when the key came from the environment
	url     string
	key     string
	source  string // "config", "NEBULA_API_KEY"
}

// credentials resolves the key and URL: --context and --api-url first, then
// NEBULA_API_KEY and NEBULA_API_URL, then the active context.
func (a *App) credentials() (*credential, error) {
	ctxName := a.global.context
	cfg, _, err := a.loadConfig()
	if errors.Is(err, errNoConfigPath) && ctxName == "" && a.env("NEBULA_API_KEY") != "" {
		// The environment alone is enough (a container without HOME).
		cfg, err = &Config{}, nil
	}
	if err != nil {
		return nil, err
	}
	var cred credential
	if ctxName != "" {
		c := cfg.find(ctxName)
		if c == nil {
			return nil, usagef("no context named %q: see nebula context list", ctxName)
		}
		cred = credential{context: c.Name, url: c.APIURL, key: c.APIKey, source: "config"}
	} else {
		if c := cfg.find(cfg.ActiveContext); c != nil {
			cred = credential{context: c.Name, url: c.APIURL, key: c.APIKey, source: "config"}
		}
		if k := a.env("NEBULA_API_KEY"); k != "" {
			cred.key, cred.source, cred.context = k, "NEBULA_API_KEY", ""
		}
		if u := a.env("NEBULA_API_URL"); u != "" {
			cred.url = u
		}
	}
	if a.global.apiURL != "" {
		cred.url = a.global.apiURL
	}
	if cred.url == "" {
		cred.url = nebula.DefaultBaseURL
	}
	if cred.key == "" {
		where := "no context is active"
		if ctxName != "" {
			where = fmt.Sprintf("context %q holds no API key", ctxName)
		} else if cfg.ActiveContext != "" && cfg.find(cfg.ActiveContext) == nil {
			where = fmt.Sprintf("the active context %q is not in the configuration file", cfg.ActiveContext)
		} else if cfg.ActiveContext != "" {
			where = fmt.Sprintf("the active context %q holds no API key", cfg.ActiveContext)
		}
		return nil, usagef("not logged in: %s; run\n  nebula auth login\nor set NEBULA_API_KEY", where)
	}
	return &cred, nil
}

// mask shows a key as ak_... and its last 4 characters.
func mask(key string) string {
	if key == "" {
		return ""
	}
	if len(key) < 12 {
		return "ak_..."
	}
	return "ak_..." + key[len(key)-4:]
}

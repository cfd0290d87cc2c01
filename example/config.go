package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// config is everything the example reads from its flags and environment.
type config struct {
	Addr         string   // where the app listens
	PublicURL    string   // the app's URL as the browser sees it; "" = from the listener
	EmulatorAddr string   // where the embedded emulator listens
	SigninAddr   string   // where the emulator's sign-in pages listen; "" = any free loopback port
	EmulatorURL  string   // an emulator already running, instead of an embedded one
	RedirectURIs []string // -emulator-only: the redirect URIs to register
	EmulatorOnly bool     // run only the emulator
	Verbose      bool

	// Real Entra ID: all three set, or none (then the emulator is used).
	TenantID, ClientID, ClientSecret string

	RedisURL   string // tokens in Redis when set
	CacheKey   []byte // AES-256 key for the token cache, required with RedisURL
	SessionKey []byte // session cookie keys (hash key [+ block key]); random when unset
}

// Real reports whether the app runs against the real Entra ID and Microsoft Graph.
func (c *config) Real() bool { return c.TenantID != "" }

const usageText = `Consentry example: a web app with incremental consent for Microsoft Entra ID.

Usage:
  go run ./example [flags]                 the app on the embedded Entra ID emulator
  go run ./example -emulator-only          only the emulator, for your own app or for app replicas
  go run ./example -emulator-url URL       the app on an emulator already running
  AZURE_TENANT_ID=... AZURE_CLIENT_ID=... AZURE_CLIENT_SECRET=... go run ./example
                                           the app on the real Entra ID and Microsoft Graph

Flags:
`

const envText = `
Environment:
  AZURE_TENANT_ID       tenant id or domain, or "organizations" for a multi-tenant app
  AZURE_CLIENT_ID       the app registration's application (client) id
  AZURE_CLIENT_SECRET   a client secret of that app registration
                        (set all three to use the real Entra ID; none to use the emulator)
  REDIS_URL             keep tokens in Redis, e.g. redis://localhost:6379/0
                        (default: in memory, lost on restart)
  CONSENTRY_CACHE_KEY   base64 of 32 random bytes, the AES-256 key that encrypts tokens
                        at rest; required with REDIS_URL (openssl rand -base64 32)
  CONSENTRY_SESSION_KEY base64 of 64 random bytes: 32 sign and 32 encrypt the session
                        cookie (default: random, so sessions end when the app restarts;
                        set it when several replicas serve the app)

The app's redirect URI is <public URL>/auth/callback: register exactly that in the
app registration (Authentication > Web > Redirect URIs).
`

// parseConfig reads flags from args and the environment through getenv.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", "localhost:8080", "`host:port` the app listens on (port 0: any free port)")
	fs.StringVar(&c.PublicURL, "public-url", "", "the app's `URL` as browsers see it, if not http://<addr>\n(behind a proxy or on a real host; the redirect URI is its /auth/callback)")
	fs.StringVar(&c.EmulatorAddr, "emulator-addr", "127.0.0.1:8443", "`host:port` of the embedded Entra ID emulator (HTTPS, self-signed)")
	fs.StringVar(&c.SigninAddr, "signin-addr", "", "`host:port` of the emulator's sign-in pages for browsers (plain HTTP;\ndefault any free loopback port): fix it behind a firewall, in a devcontainer or WSL")
	fs.StringVar(&c.EmulatorURL, "emulator-url", "", "`URL` of an emulator already running (go run ./example -emulator-only prints it),\ninstead of an embedded one: app replicas share it (loopback only; its certificate is trusted on first use)")
	fs.Func("redirect-uri", "with -emulator-only: a redirect `URI` to register for the app, e.g. http://localhost:8081/auth/callback;\nrepeat it for each app replica (default <public URL>/auth/callback)", func(v string) error {
		c.RedirectURIs = append(c.RedirectURIs, v)
		return nil
	})
	fs.BoolVar(&c.EmulatorOnly, "emulator-only", false, "run only the emulator and print its authority, tenants, users and app registration")
	fs.BoolVar(&c.Verbose, "v", false, "log every request at debug level")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
		fmt.Fprint(stderr, envText)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("example: unexpected arguments %q (see -h)", fs.Args())
	}
	if err := c.readEnv(getenv); err != nil {
		return nil, err
	}
	if err := c.checkEmulatorFlags(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *config) readEnv(getenv func(string) string) error {
	c.TenantID = strings.TrimSpace(getenv("AZURE_TENANT_ID"))
	c.ClientID = strings.TrimSpace(getenv("AZURE_CLIENT_ID"))
	c.ClientSecret = getenv("AZURE_CLIENT_SECRET")
	if err := c.checkAzure(); err != nil {
		return err
	}
	c.RedisURL = strings.TrimSpace(getenv("REDIS_URL"))
	var err error
	if c.CacheKey, err = decodeKey("CONSENTRY_CACHE_KEY", getenv("CONSENTRY_CACHE_KEY"), 32); err != nil {
		return err
	}
	if c.RedisURL != "" && c.CacheKey == nil {
		return errors.New("example: REDIS_URL is set but CONSENTRY_CACHE_KEY is not: tokens are encrypted at rest; set it to base64 of 32 random bytes (openssl rand -base64 32)")
	}
	if c.SessionKey, err = decodeKey("CONSENTRY_SESSION_KEY", getenv("CONSENTRY_SESSION_KEY"), 64); err != nil {
		return err
	}
	return nil
}

// checkAzure accepts all three AZURE_* variables or none.
func (c *config) checkAzure() error {
	var missing []string
	for _, v := range []struct{ name, value string }{
		{"AZURE_TENANT_ID", c.TenantID}, {"AZURE_CLIENT_ID", c.ClientID}, {"AZURE_CLIENT_SECRET", c.ClientSecret},
	} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) == 1 || len(missing) == 2 {
		return fmt.Errorf("example: to use the real Entra ID set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET; missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// decodeKey decodes a base64 (standard or URL, padded or not) key of size bytes.
// An empty value gives nil.
func decodeKey(name, value string, size int) ([]byte, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(value); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("example: %s is not base64: %w", name, err)
	}
	if len(key) != size {
		return nil, fmt.Errorf("example: %s decodes to %d bytes; want %d (openssl rand -base64 %d)", name, len(key), size, size)
	}
	return key, nil
}

// sessionKeys returns the configured session key pair, or fresh random keys.
func (c *config) sessionKeys() [][]byte {
	if c.SessionKey != nil {
		return [][]byte{c.SessionKey[:32], c.SessionKey[32:]}
	}
	hash, block := make([]byte, 32), make([]byte, 32)
	rand.Read(hash)
	rand.Read(block)
	return [][]byte{hash, block}
}

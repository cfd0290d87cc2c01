package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	key32 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	key64 := base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // substring; "" = no error
		check   func(t *testing.T, c *config)
	}{
		{name: "defaults: the emulator, in memory", check: func(t *testing.T, c *config) {
			if c.Real() || c.Addr != "localhost:8080" || c.EmulatorAddr != "127.0.0.1:8443" || c.RedisURL != "" {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "flags", args: []string{"-addr", "127.0.0.1:0", "-emulator-only", "-v"}, check: func(t *testing.T, c *config) {
			if c.Addr != "127.0.0.1:0" || !c.EmulatorOnly || !c.Verbose {
				t.Errorf("flags: %+v", c)
			}
		}},
		{name: "real tenant", env: map[string]string{"AZURE_TENANT_ID": "contoso.onmicrosoft.com", "AZURE_CLIENT_ID": "id", "AZURE_CLIENT_SECRET": "s"},
			check: func(t *testing.T, c *config) {
				if !c.Real() || c.ClientID != "id" || c.ClientSecret != "s" {
					t.Errorf("real: %+v", c)
				}
			}},
		{name: "half a tenant", env: map[string]string{"AZURE_CLIENT_ID": "id"}, wantErr: "missing AZURE_TENANT_ID, AZURE_CLIENT_SECRET"},
		{name: "redis without a key", env: map[string]string{"REDIS_URL": "redis://localhost:6379/0"}, wantErr: "CONSENTRY_CACHE_KEY is not"},
		{name: "redis with a key", env: map[string]string{"REDIS_URL": "redis://localhost:6379/0", "CONSENTRY_CACHE_KEY": key32},
			check: func(t *testing.T, c *config) {
				if len(c.CacheKey) != 32 {
					t.Errorf("cache key: %d bytes", len(c.CacheKey))
				}
			}},
		{name: "short cache key", env: map[string]string{"CONSENTRY_CACHE_KEY": base64.StdEncoding.EncodeToString(make([]byte, 16))}, wantErr: "decodes to 16 bytes"},
		{name: "cache key not base64", env: map[string]string{"CONSENTRY_CACHE_KEY": "not base64!"}, wantErr: "is not base64"},
		{name: "session key", env: map[string]string{"CONSENTRY_SESSION_KEY": key64}, check: func(t *testing.T, c *config) {
			if ks := c.sessionKeys(); len(ks) != 2 || len(ks[0]) != 32 || len(ks[1]) != 32 {
				t.Errorf("session keys: %d", len(ks))
			}
		}},
		{name: "shared emulator flags", args: []string{"-emulator-only", "-signin-addr", "127.0.0.1:8444",
			"-redirect-uri", "http://localhost:8081/auth/callback", "-redirect-uri", "http://localhost:8082/auth/callback"},
			check: func(t *testing.T, c *config) {
				if c.SigninAddr != "127.0.0.1:8444" || len(c.RedirectURIs) != 2 || c.RedirectURIs[1] != "http://localhost:8082/auth/callback" {
					t.Errorf("flags: %+v", c)
				}
			}},
		{name: "replica flags", args: []string{"-emulator-url", "https://127.0.0.1:8443"}, check: func(t *testing.T, c *config) {
			if c.EmulatorURL != "https://127.0.0.1:8443" {
				t.Errorf("flags: %+v", c)
			}
		}},
		{name: "redirect uri without emulator-only", args: []string{"-redirect-uri", "http://localhost:8081/auth/callback"}, wantErr: "-emulator-only"},
		{name: "emulator-url with emulator-only", args: []string{"-emulator-only", "-emulator-url", "https://127.0.0.1:8443"}, wantErr: "-emulator-url"},
		{name: "redirect uri not absolute", args: []string{"-emulator-only", "-redirect-uri", "/auth/callback"}, wantErr: "not an absolute"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"-port", "1"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestHelpListsEnvironment(t *testing.T) {
	var out strings.Builder
	_, err := parseConfig([]string{"-h"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-addr", "-emulator-only", "-public-url", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "REDIS_URL", "CONSENTRY_CACHE_KEY", "/auth/callback"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h does not mention %s:\n%s", want, out.String())
		}
	}
}

func TestAppURL(t *testing.T) {
	tests := []struct{ addr, public, port, want string }{
		{addr: "localhost:8080", want: "http://localhost:8080"},
		{addr: ":8080", want: "http://localhost:8080"},
		{addr: "0.0.0.0:0", port: "4321", want: "http://localhost:4321"},
		{addr: "127.0.0.1:0", port: "4321", want: "http://127.0.0.1:4321"},
		{addr: "[::1]:0", port: "4321", want: "http://[::1]:4321"},
		{addr: "localhost:0", public: "https://app.example/", port: "4321", want: "https://app.example"},
	}
	for _, tt := range tests {
		got, err := appURL(&config{Addr: tt.addr, PublicURL: tt.public}, tt.port)
		if err != nil || got != tt.want {
			t.Errorf("appURL(%q, %q, %q) = %q, %v; want %q", tt.addr, tt.public, tt.port, got, err, tt.want)
		}
	}
	if _, err := appURL(&config{Addr: "x", PublicURL: "ftp://x"}, ""); err == nil {
		t.Error("appURL accepted an ftp public URL")
	}
}

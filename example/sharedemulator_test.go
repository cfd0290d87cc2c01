package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache/redisstore/redistest"
)

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestTwoReplicasShareOneEmulator runs the README's recipe: the emulator once
// (-emulator-only, a redirect URI per replica, a fixed -signin-addr), two
// app replicas pointed at it (-emulator-url) sharing Redis and the session
// key. A user who signs in on one replica is signed in on the other, whose
// pages get tokens from Redis without going to the emulator.
func TestTwoReplicasShareOneEmulator(t *testing.T) {
	redisURL := redistest.URL(t) // skips, saying why, without Redis
	addrA, addrB, signin := freeAddr(t), freeAddr(t), freeAddr(t)
	emu := startExample(t, "-emulator-only", "-signin-addr", signin,
		"-redirect-uri", "http://"+addrA+"/auth/callback", "-redirect-uri", "http://"+addrB+"/auth/callback")
	if emu.Emulator == "" || !strings.Contains(emu.output(), "http://"+signin) {
		t.Fatalf("-emulator-only did not print its URL and sign-in address %s:\n%s", signin, emu.output())
	}
	keys := make([]byte, 96)
	rand.Read(keys)
	env := []string{"REDIS_URL=" + redisURL, "CONSENTRY_CACHE_KEY=" + base64.StdEncoding.EncodeToString(keys[:32]),
		"CONSENTRY_SESSION_KEY=" + base64.StdEncoding.EncodeToString(keys[32:])}
	a := startExampleEnv(t, env, "-addr", addrA, "-emulator-url", emu.Emulator)
	b := startExampleEnv(t, env, "-addr", addrB, "-emulator-url", emu.Emulator)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := loopbackClient()
	page := signInWith(t, ctx, c, a.URL+"/profile", "megan@contoso.example")
	if !strings.Contains(page, "Megan Bowen") {
		t.Fatalf("replica A after sign-in:\n%s", page)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	body, _ := fetch(t, ctx, c, http.MethodGet, b.URL+"/profile", nil)
	if !strings.Contains(body, "Megan Bowen") || !strings.Contains(body, `id="page-profile"`) {
		t.Fatalf("replica B does not know the user signed in on A:\n%s", body)
	}
	if strings.Contains(b.output(), "Sign-in    ") || !strings.Contains(b.output(), "already running") {
		t.Errorf("replica B started an emulator of its own:\n%s", b.output())
	}
}

// TestSigninAddrFixesTheSignInListener: -signin-addr puts the embedded
// emulator's sign-in pages where it says.
func TestSigninAddrFixesTheSignInListener(t *testing.T) {
	signin := freeAddr(t)
	a := startExample(t, "-signin-addr", signin)
	if !strings.Contains(a.output(), fmt.Sprintf("Sign-in    http://%s", signin)) {
		t.Fatalf("banner does not show the sign-in pages at %s:\n%s", signin, a.output())
	}
	resp, err := http.Get("http://" + signin + "/organizations/v2.0/.well-known/openid-configuration")
	if err == nil {
		resp.Body.Close()
	}
	if err != nil {
		t.Errorf("nothing listens at -signin-addr %s: %v", signin, err)
	}
}

// TestEmulatorURLRefusesOtherHosts: -emulator-url trusts a certificate on
// first use, so it accepts loopback addresses only.
func TestEmulatorURLRefusesOtherHosts(t *testing.T) {
	for _, u := range []string{"https://login.example.com", "http://127.0.0.1:8443", "https://127.0.0.1:1/other"} {
		if _, err := sharedEmulator(u); err == nil {
			t.Errorf("sharedEmulator(%q) accepted", u)
		}
	}
}

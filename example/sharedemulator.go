package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Several replicas of the app share one emulator, run once with
// -emulator-only (and a -redirect-uri per replica); each replica gets
// -emulator-url. The emulator makes a self-signed certificate at each start;
// a replica trusts the one its loopback address presents when it starts.

// checkEmulatorFlags rejects combinations of the emulator flags that cannot work.
func (c *config) checkEmulatorFlags() error {
	switch {
	case c.EmulatorURL != "" && (c.EmulatorOnly || c.Real()):
		return errors.New("example: -emulator-url is for app replicas on an emulator already running; not with -emulator-only nor the AZURE_* variables")
	case len(c.RedirectURIs) > 0 && !c.EmulatorOnly:
		return errors.New("example: -redirect-uri registers redirect URIs in an emulator started with -emulator-only; the app's own is <public URL>/auth/callback")
	}
	for _, u := range c.RedirectURIs {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("example: -redirect-uri %q is not an absolute http(s) URL such as http://localhost:8081/auth/callback", u)
		}
	}
	return nil
}

// sharedEmulator connects to the emulator at raw (its URL, as -emulator-only
// prints it), which must be on loopback.
func sharedEmulator(raw string) (*identity, error) {
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/organizations") {
		return nil, fmt.Errorf("example: -emulator-url %q: use the Emulator URL -emulator-only prints, e.g. https://127.0.0.1:8443", raw)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("example: -emulator-url %q must be on a loopback address such as 127.0.0.1 (its certificate is trusted on first use)", raw)
	}
	client, err := trustingClient(u.Host)
	if err != nil {
		return nil, err
	}
	base := u.Scheme + "://" + u.Host
	cred, err := confidential.NewCredFromSecret(exampleSecret)
	if err != nil {
		return nil, fmt.Errorf("example: emulator secret: %w", err)
	}
	return &identity{Authority: base + "/organizations", ClientID: exampleClientID, GraphURL: base + "/v1.0",
		Credential: cred, HTTPClient: client, Emulated: true, EmulatorURL: base,
		TenantLabel: "Contoso and Fabrikam on the shared emulator", IsAdmin: emulatorAdmin, HomeTenant: contosoID}, nil
}

// trustingClient returns a client that trusts the certificate the emulator
// at host (a loopback address) presents now, and checks that it answers.
func trustingClient(host string) (*http.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} // loopback only: read the certificate to pin it
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("example: no emulator answers at %s: %w (start one with go run ./example -emulator-only)", host, err)
	}
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	conn.Close()
	if len(certs) == 0 {
		return nil, fmt.Errorf("example: the emulator at %s presented no certificate", host)
	}
	pool := x509.NewCertPool()
	pool.AddCert(certs[0])
	client := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + host + "/organizations/v2.0/.well-known/openid-configuration")
	if err != nil {
		return nil, fmt.Errorf("example: the emulator at %s: %w", host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("example: %s is not the example's emulator: discovery answered %s", host, resp.Status)
	}
	return client, nil
}

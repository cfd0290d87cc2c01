package middleware

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// countingPool is a pool of at most max calls at once whose clients cost nothing.
func countingPool(max int) *clientPool {
	return newPool(max, func() (confidential.Client, error) { return confidential.Client{}, nil })
}

// TestClientPoolGrowsToTheHerd: as many calls as the bound run at once, each
// with a client of its own (none waits for another's round trip to Entra),
// and no more clients are made than calls ever ran at once.
func TestClientPoolGrowsToTheHerd(t *testing.T) {
	const herd = 200
	p := countingPool(256)
	entered, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for range herd {
		wg.Go(func() {
			_ = p.with(context.Background(), func(confidential.Client) error {
				entered <- struct{}{}
				<-release // held until all herd calls are in: a pool smaller than the herd never gets there
				return nil
			})
		})
	}
	for range herd {
		<-entered
	}
	close(release)
	wg.Wait()
	if p.made != herd || len(p.idle) != herd {
		t.Errorf("%d clients made, %d idle; want %d of each", p.made, len(p.idle), herd)
	}
	for range 10 * herd { // one call at a time reuses an idle client
		_ = p.with(context.Background(), func(confidential.Client) error { return nil })
	}
	if p.made != herd {
		t.Errorf("%d clients made after sequential calls, want still %d", p.made, herd)
	}
}

// TestClientPoolBound: calls beyond the bound wait for a client and give up
// with their context; a client is never held by two calls.
func TestClientPoolBound(t *testing.T) {
	p := countingPool(2)
	release := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	inFlight, most := 0, 0
	for range 2 {
		entered := make(chan struct{})
		wg.Go(func() {
			_ = p.with(context.Background(), func(confidential.Client) error {
				mu.Lock()
				inFlight++
				most = max(most, inFlight)
				mu.Unlock()
				close(entered)
				<-release
				mu.Lock()
				inFlight--
				mu.Unlock()
				return nil
			})
		})
		<-entered
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // both clients are busy: a third call can only end with its context
	err := p.with(ctx, func(confidential.Client) error { t.Error("a third call ran beside two"); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("third call: %v, want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	if most != 2 || p.made != 2 {
		t.Errorf("%d calls at once with %d clients made, want 2 and 2", most, p.made)
	}
}

// TestClientPoolMakeError: a client MSAL refuses to make fails the call and
// frees its place.
func TestClientPoolMakeError(t *testing.T) {
	bad := errors.New("refused")
	p := newPool(1, func() (confidential.Client, error) { return confidential.Client{}, bad })
	for range 3 { // the place is given back each time: no call hangs
		if err := p.with(context.Background(), func(confidential.Client) error { return nil }); !errors.Is(err, bad) {
			t.Fatalf("err %v, want %v", err, bad)
		}
	}
	if p.made != 0 {
		t.Errorf("made %d, want 0", p.made)
	}
}

// TestEntraClientSpeaksHTTP2: the default Config.HTTPClient speaks HTTP/2 to
// a server that offers it, as Entra does, so a herd of refreshes shares one
// TLS connection.
func TestEntraClientSpeaksHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	c := entraClient(DefaultTokenConcurrency)
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone() // trust the test certificate
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("answered over %s, want HTTP/2", resp.Proto)
	}
}

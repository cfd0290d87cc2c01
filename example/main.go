package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/consentry/consentry/middleware"
)

func main() {
	err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// 1. Flags and environment (-h lists them).
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.EmulatorOnly {
		return runEmulatorOnly(ctx, cfg, stdout, log)
	}

	// 2. Listen first: the redirect URI registered for the app contains the port.
	ln, publicURL, err := listen(cfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	redirectURL := publicURL + "/auth/callback"

	// 3. The identity provider: the embedded emulator, or the real Entra ID and Graph.
	idp, err := newIdentity(cfg, redirectURL, log)
	if err != nil {
		return err
	}
	defer idp.Close()

	// 4. Where tokens live: in memory, or in Redis, encrypted.
	cache, closeCache, err := newTokenCache(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeCache()

	// 5. The pages, and the middleware that gets their tokens: sign-in, consent, tokens.
	s, err := newSite(idp, publicURL, log)
	if err != nil {
		return err
	}
	mw, err := middleware.New(middleware.Config{
		Authority:                idp.Authority,
		ClientID:                 idp.ClientID,
		Credential:               idp.Credential,
		RedirectURL:              redirectURL,
		SessionKeys:              cfg.sessionKeys(),
		Cache:                    cache,
		HTTPClient:               idp.HTTPClient,
		GraphURL:                 strings.TrimSuffix(idp.GraphURL, "/v1.0"), // what ConsentStatus reads
		DisableInstanceDiscovery: idp.Emulated,
		Logger:                   log,
		RenderPage:               s.middlewarePage, // the middleware's pages in the example's layout
		IsAdmin:                  idp.IsAdmin,      // admins go straight to admin consent on RequireAdmin routes
	})
	if err != nil {
		return err
	}
	defer mw.Close() // after the server stopped: ends token refreshes in flight
	s.mw = mw

	// 6. Routes: each page says which permission it needs; the registration should list them all.
	handler := routes(s, mw)
	checkRegistration(ctx, mw, idp.HomeTenant, log)

	// 7. Serve until Ctrl-C.
	printBanner(stdout, cfg, idp, publicURL, redirectURL)
	return serve(ctx, ln, handler, log)
}

// routes maps each page to the permission it needs.
func routes(s *site, mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler()) // sign-in, callback, sign-out, admin consent, connect, resume
	mux.Handle("GET /static/", static())
	mux.HandleFunc("GET /{$}", s.home)
	mux.Handle("GET /profile", mw.Require("User.Read")(http.HandlerFunc(s.profile)))
	mux.Handle("GET /mail", mw.Require("Mail.Read")(http.HandlerFunc(s.mail)))
	mux.Handle("GET /compose", mw.Require("User.Read")(http.HandlerFunc(s.composeForm)))
	mux.Handle("POST /compose", mw.Require("Mail.Send")(http.HandlerFunc(s.composeSend)))
	mux.Handle("GET /directory", mw.RequireAdmin("User.Read.All")(http.HandlerFunc(s.directory)))
	mux.Handle("GET /scopes", mw.Require("User.Read")(http.HandlerFunc(s.scopes)))
	mux.Handle("GET /permissions", mw.Require("User.Read")(http.HandlerFunc(s.permissions)))
	mux.HandleFunc("GET /connect", s.connect)
	mux.HandleFunc("/", s.notFound)
	return withLog(mux, s.log)
}

// serve runs the app until ctx ends (Ctrl-C), then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	var fresh freshConns
	srv := &http.Server{Handler: h, ConnState: fresh.track,
		// Full timeouts: slow or idle clients cannot hold connections open.
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 90 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("example: serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("example: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fresh.closeAll() // browsers' idle preconnections, which Shutdown would wait 5 s for
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("example: shutting down: %w", err)
	}
	return nil
}

// runEmulatorOnly runs the emulator alone until Ctrl-C, for people who point their own app at it.
func runEmulatorOnly(ctx context.Context, cfg *config, stdout io.Writer, log *slog.Logger) error {
	redirectURIs := cfg.RedirectURIs
	if len(redirectURIs) == 0 {
		publicURL, err := appURL(cfg, "")
		if err != nil {
			return err
		}
		redirectURIs = []string{publicURL + "/auth/callback"}
	}
	srv, err := startEmulator(cfg.EmulatorAddr, cfg.SigninAddr, redirectURIs, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	printEmulatorOnly(stdout, srv, redirectURIs)
	<-ctx.Done()
	log.Info("example: shutting down the emulator")
	return nil
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if cfg.Verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

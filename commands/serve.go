package commands

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"
)

var serveCommand = command{
	name:     "serve",
	summary:  "run the gateway, listening on QSGATE_LISTEN_ADDR (the default command)",
	settings: true,
	setup: func(*flag.FlagSet) func(context.Context, *invocation) error {
		return func(ctx context.Context, in *invocation) error {
			g, err := in.build(ctx)
			if err != nil {
				return err
			}
			return g.serve(ctx)
		}
	},
}

// What one client connection may hold, so that a few connections cannot
// take the memory of many (docs/RELIABILITY.md):
const (
	// maxHeaderBytes bounds a request's line and headers. qsgate's own
	// cookies are a few KB; AWS's load balancers pass 64 KiB at most.
	maxHeaderBytes = 64 << 10
	// readHeaderTimeout bounds the time to send them.
	readHeaderTimeout = 5 * time.Second
	// idleTimeout closes an unused keep-alive connection. It is longer than
	// the idle timeout of an AWS load balancer or nginx (60 s), so that a
	// balancer never sends a request on a connection qsgate is closing.
	idleTimeout = 75 * time.Second
)

// serve runs until ctx ends. Then /readyz fails for QSGATE_SHUTDOWN_DELAY
// (so load balancers that poll it stop sending new requests) while requests
// are still served, the listener closes, and in-flight requests get up to
// QSGATE_SHUTDOWN_GRACE to finish.
func (g *gateway) serve(ctx context.Context) error {
	defer g.flushTraces()
	if g.redis != nil {
		defer g.redis.Close()
	}
	defer g.auth.CloseIdleConnections()
	defer g.audit.Close() // after the drain: the last requests' events are written
	ln, err := net.Listen("tcp", g.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("QSGATE_LISTEN_ADDR: %w", err)
	}
	hs := &http.Server{
		Handler:           g.server,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      g.cfg.AWSTimeout + 30*time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	maxConns := g.cfg.MaxConnections
	if maxConns == 0 {
		maxConns = maxConnections(debug.SetMemoryLimit(-1))
	}
	conns := limitConnections(ln, maxConns, hs.SetKeepAlivesEnabled, g.log)
	if g.metrics != nil {
		g.metrics.WatchConnections(conns)
	}
	if g.metrics != nil {
		mln, err := net.Listen("tcp", g.cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("QSGATE_METRICS_ADDR: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", g.metrics.Handler())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = ms.Serve(mln) }() // returns when closed below
		defer ms.Close()
		g.log.Info("metrics listening", "addr", mln.Addr().String())
	}
	discoverCtx, stopDiscovery := context.WithCancel(ctx)
	defer stopDiscovery()
	go func() { _ = g.auth.Discover(discoverCtx) }() // it logs its own failures and stops with ctx

	defer g.reloadOnHangup(ctx)()

	g.log.Info("qsgate listening", "addr", ln.Addr().String(), "public_url", g.cfg.PublicURL.String(),
		"version", g.version, "aws_region", g.aws.Region, "env_file", cmp.Or(g.envFile, noEnvFile),
		"memory_limit", memoryLimit(), "max_connections", maxConns)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(conns) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	g.draining.Store(true)
	if g.cfg.ShutdownDelay > 0 {
		g.log.Info("shutting down: readyz fails now, still serving", "delay", g.cfg.ShutdownDelay)
		time.Sleep(g.cfg.ShutdownDelay)
	}
	g.log.Info("shutting down, draining requests", "grace", g.cfg.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	g.log.Info("stopped")
	return nil
}

// flushTraces sends the spans still held and stops the exporter, within a
// few seconds: a collector that is down must not hold the exit.
func (g *gateway) flushTraces() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.tracing.Shutdown(ctx); err != nil {
		g.log.Warn("tracing: spans not sent at exit", "err", err)
	}
}

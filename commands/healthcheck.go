package commands

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

var healthcheckCommand = command{
	name: "healthcheck",
	summary: "GET /healthz on the local listen address (QSGATE_LISTEN_ADDR): exit 0 when it answers 200,\n" +
		"else 1; the container image's HEALTHCHECK (it has no shell or curl)",
	settings: true,
	setup: func(*flag.FlagSet) func(context.Context, *invocation) error {
		return func(ctx context.Context, in *invocation) error {
			return healthcheck(ctx, in.getenv("QSGATE_LISTEN_ADDR"), in.stdout)
		}
	},
}

// healthcheck asks the gateway listening on listenAddr (QSGATE_LISTEN_ADDR,
// default :8080) for /healthz on loopback, so a container without a shell
// or curl can have a HEALTHCHECK. It returns nil only for a 200.
func healthcheck(ctx context.Context, listenAddr string, stdout io.Writer) error {
	host, port, err := net.SplitHostPort(cmp.Or(listenAddr, ":8080"))
	if err != nil {
		return fmt.Errorf("QSGATE_LISTEN_ADDR: %w", err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1" // listening everywhere: ask on loopback
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(stdout, "healthy:", url)
	return nil
}

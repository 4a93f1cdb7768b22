package cluster

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// go-redis's own lines (here: a failed dial) reach qsgate's logger as
// structured warnings, and a URL's password never does.
func TestRedisMessagesGoThroughTheLogger(t *testing.T) {
	var buf bytes.Buffer
	UseLogger(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { UseLogger(slog.New(slog.DiscardHandler)) })
	r, c := startRedis(t)
	r.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping to a stopped Redis answered")
	}
	out := buf.String()
	if !strings.Contains(out, `"level":"WARN","msg":"redis client","detail":"connection pool: failed to dial`) {
		t.Fatalf("no structured line for the failed dial:\n%s", out)
	}

	buf.Reset()
	redisLogger{slog.New(slog.NewJSONHandler(&buf, nil))}.Printf(t.Context(), "redis: dial %s: %s", "rediss://qsgate:s3cret-pass@redis.internal:6380/0", strings.Repeat("x", 2000))
	if strings.Contains(buf.String(), "s3cret-pass") || !strings.Contains(buf.String(), "redis.internal:6380") {
		t.Errorf("a URL's password was logged, or its host dropped: %s", buf.String())
	}
	if buf.Len() > maxRedisMessage+200 {
		t.Errorf("a long message was logged whole (%d bytes)", buf.Len())
	}
}

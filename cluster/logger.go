package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

// UseLogger sends go-redis's own messages (a failed dial, trouble in the
// connection pool: about twenty lines in an outage) to log, as warnings
// with the message in "detail", instead of unstructured lines on stderr.
// go-redis has one logger for the whole process, so this applies to every
// client, the session store's included. A user:password in a URL is masked
// and the message bounded; go-redis does not put the URL in its messages,
// only host:port, but nothing here relies on that.
func UseLogger(log *slog.Logger) {
	if log != nil {
		redis.SetLogger(redisLogger{log})
	}
}

type redisLogger struct{ log *slog.Logger }

// maxRedisMessage bounds one go-redis message in the log: some quote the
// server's own error text.
const maxRedisMessage = 512

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimSpace(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
	l.log.WarnContext(ctx, "redis client", "detail", redactRedis(msg))
}

// userinfoRE is the user:password@ of a URL.
var userinfoRE = regexp.MustCompile(`(://)[^/@\s]*@`)

// redactRedis masks credentials in URLs and bounds the length.
func redactRedis(msg string) string {
	msg = userinfoRE.ReplaceAllString(msg, "${1}REDACTED@")
	if len(msg) > maxRedisMessage {
		msg = strings.ToValidUTF8(msg[:maxRedisMessage], "") + "..."
	}
	return msg
}

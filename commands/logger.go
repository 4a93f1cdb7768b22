package commands

import (
	"io"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"github.com/qsgate/qsgate/config"
)

// maxLogValue bounds every value a log line carries. Paths, header-derived
// values, claims and error texts come from clients and providers; a line
// must not grow with them (a 60 KB path is 60 KB of log per request
// otherwise).
const maxLogValue = 512

// newLogger is the one logger of the gateway: QSGATE_LOG_FORMAT and
// QSGATE_LOG_LEVEL, every value bounded.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel, ReplaceAttr: boundValue}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// boundValue cuts a string or error value past maxLogValue bytes, saying
// how long it was. A panic's stack is the gateway's own and stays whole.
func boundValue(_ []string, a slog.Attr) slog.Attr {
	if a.Key == "stack" {
		return a
	}
	var s string
	switch a.Value.Kind() {
	case slog.KindString:
		s = a.Value.String()
	case slog.KindAny:
		err, ok := a.Value.Any().(error)
		if !ok {
			return a
		}
		s = err.Error()
	default:
		return a
	}
	if len(s) <= maxLogValue {
		return a
	}
	cut := maxLogValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	a.Value = slog.StringValue(s[:cut] + "...(" + strconv.Itoa(len(s)) + " bytes)")
	return a
}

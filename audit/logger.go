package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
)

// maxValue bounds every string of an event: claims and paths come from
// providers and clients, and a line must not grow with them.
const maxValue = 1024

// Logger writes events, one JSON object a line, to one writer. It is safe
// for concurrent use. A write that fails is counted (Failed) and logged
// when writes start failing, never returned: an audit line that cannot be
// written must not fail the user's request.
type Logger struct {
	mu       sync.Mutex // one line at a time, never interleaved
	w        io.Writer
	closer   io.Closer // the file, nil for stdout
	path     string    // the file's path, "" for stdout
	instance string
	now      func() time.Time
	log      *slog.Logger
	failed   atomic.Int64
	failing  atomic.Bool
}

// Off is the QSGATE_AUDIT_LOG value that turns the stream off, and Stdout
// the one that writes it to standard output.
const (
	Off    = "off"
	Stdout = "stdout"
)

// Open opens the audit stream target names: Stdout writes to stdout, Off
// returns nil (record nothing), and an absolute path is a file opened for
// appending, created with mode 0600 when missing. log is told when writes
// start failing and when they work again.
func Open(target string, stdout io.Writer, log *slog.Logger) (*Logger, error) {
	var w io.Writer
	var closer io.Closer
	switch {
	case target == Off:
		return nil, nil
	case target == Stdout:
		w = stdout
	case filepath.IsAbs(target):
		f, fi, err := openFile(target)
		if err != nil {
			return nil, err
		}
		w, closer = f, f
		if fi.Mode().Perm()&0o077 != 0 && log != nil {
			log.Warn("the audit log file is open to other users than its owner; qsgate creates it 0600",
				"file", target, "mode", fi.Mode().Perm().String())
		}
	default:
		return nil, fmt.Errorf("want %s, %s or an absolute file path, got %q", Stdout, Off, target)
	}
	l := New(w, closer, log)
	if closer != nil {
		l.path = target
	}
	return l, nil
}

// openFile opens path for appending, creating it with mode 0600; it must be
// a regular file.
func openFile(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, fi, nil
}

// Path is the file the Logger writes to, "" for stdout.
func (l *Logger) Path() string {
	if l == nil {
		return ""
	}
	return l.path
}

// Reopen opens the file at the Logger's path again and writes there from
// the next event on, closing the old one: after a rotation moved the file
// away (logrotate's create), events go to the new file. Stdout needs
// nothing. When the path cannot be opened, the Logger keeps writing where
// it did and says why.
func (l *Logger) Reopen() error {
	if l == nil || l.path == "" {
		return nil
	}
	f, _, err := openFile(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.closer
	l.w, l.closer = f, f
	l.mu.Unlock()
	return old.Close()
}

// New is a Logger writing to w; closer (may be nil) is what Close closes.
// Open is the usual way; tests use New with a buffer.
func New(w io.Writer, closer io.Closer, log *slog.Logger) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname() // "" when unknown: the field is then left out
	return &Logger{w: w, closer: closer, instance: host, now: time.Now, log: log}
}

// WithClock makes the Logger stamp events with now (tests).
func (l *Logger) WithClock(now func() time.Time) *Logger {
	l.now = now
	return l
}

// Record writes e as one line, stamped with the time, the instance, and
// what ctx knows of the request (WithRequest) and its trace.
func (l *Logger) Record(ctx context.Context, e Event) {
	e.Audit, e.Version, e.Instance = true, Version, l.instance
	e.Time = l.now().UTC()
	fromContext(ctx, &e)
	for _, s := range [...]*string{&e.Event, &e.Reason, &e.Instance, &e.Subject, &e.Email, &e.UserARN, &e.Namespace, &e.Role,
		&e.RoleARN, &e.RoleSession, &e.Experience, &e.EntryPoint, &e.Path, &e.AWSRequestID, &e.ClientIP, &e.RequestID} {
		*s = bound(*s)
	}
	line, err := json.Marshal(e)
	if err != nil { // cannot happen: every field is a string, a number, a bool or a time
		l.writeFailed(err)
		return
	}
	line = append(line, '\n')
	l.mu.Lock()
	_, err = l.w.Write(line)
	l.mu.Unlock()
	if err != nil {
		l.writeFailed(err)
		return
	}
	if l.failing.Load() && l.failing.CompareAndSwap(true, false) {
		l.log.Info("audit log writes work again", "audit_write_failures", l.failed.Load())
	}
}

func (l *Logger) writeFailed(err error) {
	l.failed.Add(1)
	if !l.failing.Swap(true) {
		l.log.Error("audit log write failed: events are lost until writes work again (qsgate_audit_write_failures_total counts them)",
			"event", "audit_write_failed", "err", err)
	}
}

// Failed is how many events could not be written.
func (l *Logger) Failed() int64 { return l.failed.Load() }

// Close closes the file; stdout is left open.
func (l *Logger) Close() error {
	if l == nil || l.closer == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closer.Close()
}

// bound cuts s to maxValue bytes on a rune boundary.
func bound(s string) string {
	if len(s) <= maxValue {
		return s
	}
	cut := maxValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// fromContext fills in what ctx knows of the request (WithRequest) and its
// trace, where e does not say.
func fromContext(ctx context.Context, e *Event) {
	if r, ok := RequestFrom(ctx); ok {
		if e.ClientIP == "" {
			e.ClientIP = r.ClientIP
		}
		if e.RequestID == "" {
			e.RequestID = r.RequestID
		}
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		e.TraceID = sc.TraceID().String()
	}
}

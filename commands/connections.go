package commands

import (
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/time/rate"
)

// connections bounds the public listener's client connections with
// netutil.LimitListener: past max, Accept waits and new connections queue
// in the kernel. It counts what it holds, and when every slot is taken it
// tells the server to stop keeping idle connections (setKeepAlives(false)
// closes them), so idle keep-alives cannot hold the slots that new clients
// need; keep-alives come back once a tenth of the slots are free.
type connections struct {
	net.Listener
	max           int64
	open          atomic.Int64
	limited       atomic.Int64
	mu            sync.Mutex  // serializes the switch between full and not
	applying      sync.Mutex  // serializes telling the server
	full          atomic.Bool // every slot taken: keep-alives are off
	setKeepAlives func(bool)
	log           *slog.Logger
	sometimes     rate.Sometimes // at most one "limit reached" line a minute
}

func limitConnections(ln net.Listener, max int, setKeepAlives func(bool), log *slog.Logger) *connections {
	return &connections{Listener: netutil.LimitListener(ln, max), max: int64(max), setKeepAlives: setKeepAlives,
		log: log, sometimes: rate.Sometimes{First: 1, Interval: time.Minute}}
}

// Accept waits for a free slot and a connection.
func (l *connections) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.open.Add(1) >= l.max && !l.full.Load() {
		l.settle()
	}
	return &heldConn{Conn: c, l: l}, nil
}

func (l *connections) release() {
	if l.open.Add(-1) <= l.max*9/10 && l.full.Load() {
		l.settle()
	}
}

// settle records the switch when every slot is taken (keep-alives off) or
// a tenth are free again (on), reading the count under the lock. The server
// is told in another goroutine: switching keep-alives off closes idle
// connections, whose Close comes back here.
func (l *connections) settle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	changed := false
	// Until the state fits the count: a connection accepted or closed
	// while this ran saw the old state and did not call again.
	for {
		n := l.open.Load()
		switch {
		case !l.full.Load() && n >= l.max:
			l.full.Store(true)
			l.limited.Add(1)
			l.sometimes.Do(func() {
				l.log.Warn("connection limit reached: new connections wait, idle ones are closed",
					"max_connections", l.max, "setting", "QSGATE_MAX_CONNECTIONS")
			})
		case l.full.Load() && n <= l.max*9/10:
			l.full.Store(false)
		default:
			if changed {
				go l.apply()
			}
			return
		}
		changed = true
	}
}

// apply gives the server the latest state; the last to run wins.
func (l *connections) apply() {
	l.applying.Lock()
	defer l.applying.Unlock()
	l.setKeepAlives(!l.full.Load())
}

// Open is the number of client connections held now.
func (l *connections) Open() int64 { return l.open.Load() }

// Limited is how many times every slot was taken.
func (l *connections) Limited() int64 { return l.limited.Load() }

// heldConn gives its slot back once, on the first Close.
type heldConn struct {
	net.Conn
	l    *connections
	once sync.Once
}

func (c *heldConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}

// Sizing the connection cap when QSGATE_MAX_CONNECTIONS is unset. A
// connection that is still sending its headers holds up to about 80 KiB
// (64 KiB of headers and the server's buffers: docs/BENCHMARKS.md, "Under
// hostile traffic"); a third of the runtime's soft memory limit is kept for
// them, so a crowd of such connections cannot take the memory the views
// need.
const (
	connectionCost        = 80 << 10
	defaultMaxConnections = 1000 // without a memory limit
	minMaxConnections     = 64
)

// maxConnections is the cap for a soft memory limit of limit bytes
// (math.MaxInt64 when there is none).
func maxConnections(limit int64) int {
	if limit <= 0 || limit == math.MaxInt64 {
		return defaultMaxConnections
	}
	return int(min(max(limit/3/connectionCost, minMaxConnections), defaultMaxConnections))
}

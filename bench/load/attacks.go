package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The attack clients of -hostile. Each holds its connections with one
// goroutine apiece and no more than a few hundred bytes of its own, so the
// harness stays small next to the gateway it measures (it runs in this
// process, the gateway in its own). A connection the gateway closes is
// dialed again after -redial, as an attacker who wants to keep n
// connections would (-redial 0: it stays closed).

// tally is what the attack saw.
type tally struct {
	dials      atomic.Int64 // connections made
	dialFailed atomic.Int64 // dials refused or timed out
	closed     atomic.Int64 // connections the gateway ended
	requests   atomic.Int64 // requests answered (longpath)
	mu         sync.Mutex
	answers    map[int]int // the gateway's status lines, 0: closed without one
	why        []string    // the first errors that are neither
}

func newTally() *tally { return &tally{answers: map[int]int{}} }

func (t *tally) answer(status int) {
	t.mu.Lock()
	t.answers[status]++
	t.mu.Unlock()
}

func (t *tally) note(err error) {
	t.mu.Lock()
	if len(t.why) < 3 {
		t.why = append(t.why, err.Error())
	}
	t.mu.Unlock()
}

// holdFunc keeps one connection busy the attack's way until the gateway
// ends it or ctx does, and returns the status the gateway answered with
// (0: none).
type holdFunc func(ctx context.Context, c net.Conn) int

// holdConnections keeps n connections to addr, each held by hold, until ctx
// ends.
func holdConnections(ctx context.Context, addr string, n int, redial time.Duration, t *tally, hold holdFunc) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			d := net.Dialer{Timeout: 10 * time.Second}
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					if ctx.Err() == nil {
						t.dialFailed.Add(1)
						t.note(err)
						sleep(ctx, redial)
					}
					continue
				}
				t.dials.Add(1)
				stop := context.AfterFunc(ctx, func() { c.Close() }) // unblocks a read or write at the end
				status := hold(ctx, c)
				stop()
				c.Close()
				if ctx.Err() != nil {
					return // ended by us, not the gateway
				}
				t.closed.Add(1)
				t.answer(status)
				if redial == 0 {
					return
				}
				sleep(ctx, redial)
			}
		})
	}
	wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// requestLine starts every attack request.
const requestLine = "GET / HTTP/1.1\r\nHost: qsgate\r\n"

// padLine is one 1 KiB header line, shared by every connection of the
// headers attack (read-only).
var padLine = []byte("X-Pad: " + strings.Repeat("a", 1024-len("X-Pad: \r\n")) + "\r\n")

// slowHeaders sends the request line, then line every pace until total
// bytes are sent, never the blank line that ends the headers. Between
// writes it waits for the gateway's answer or close: a read with a
// deadline is the pause.
func slowHeaders(line []byte, pace time.Duration, total int) holdFunc {
	return func(ctx context.Context, c net.Conn) int {
		if _, err := io.WriteString(c, requestLine); err != nil {
			return 0
		}
		buf := make([]byte, 32) // the start of an answer is all it reads
		for sent := 0; ; {
			if sent < total {
				if _, err := c.Write(line); err != nil {
					return 0
				}
				sent += len(line)
			}
			if err := c.SetReadDeadline(time.Now().Add(pace)); err != nil {
				return 0
			}
			n, err := c.Read(buf)
			if n > 0 {
				return statusOf(buf[:n])
			}
			if !isTimeout(err) {
				return 0 // closed without an answer, or ended by ctx
			}
		}
	}
}

// idleAfterOne does one GET /healthz with keep-alive, reads the answer,
// and then sends nothing, waiting for the gateway to close.
func idleAfterOne(ctx context.Context, c net.Conn) int {
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: qsgate\r\n\r\n"); err != nil {
		return 0
	}
	br := bufio.NewReaderSize(c, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body) // a short body; an error shows at the next read
	resp.Body.Close()
	_, _ = br.ReadByte() // blocks until the gateway closes, or ctx ends
	return resp.StatusCode
}

// statusOf reads the status code of "HTTP/1.x NNN ...", 0 if it is not one.
func statusOf(b []byte) int {
	_, rest, ok := bytes.Cut(b, []byte(" "))
	if !ok || !bytes.HasPrefix(b, []byte("HTTP/")) || len(rest) < 3 {
		return 0
	}
	n, err := strconv.Atoi(string(rest[:3]))
	if err != nil {
		return 0
	}
	return n
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// longPath is the longest "/static/aaa..." path the gateway answers with
// something other than 431 (or a failure), found by bisection between 0 and
// 128 KiB, and the request's status at that length.
//
// Each try is on a new connection. On a kept-alive one Go's server takes up
// to 4 KiB more: it peeks at the next request (a 4 KiB buffer) before it
// starts counting the limit; a path found that way gets 431 on every new
// connection.
func longPath(ctx context.Context, gateway string) (string, int, error) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer c.CloseIdleConnections()
	try := func(n int) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, gateway+"/static/"+strings.Repeat("a", n), nil)
		if err != nil {
			return 0, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body) // a short error page
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	accepted := func(n int) bool {
		status, err := try(n)
		return err == nil && status != http.StatusRequestHeaderFieldsTooLarge
	}
	lo, hi := 0, 128<<10
	if !accepted(lo) {
		return "", 0, errors.New("the gateway refuses even /static/")
	}
	if accepted(hi) {
		return "", 0, fmt.Errorf("the gateway accepts a %d-byte path: headers are not bounded", hi)
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; accepted(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	status, err := try(lo)
	return "/static/" + strings.Repeat("a", lo), status, err
}

// requestLoop asks for path with workers goroutines, one request after
// another, until ctx ends.
func requestLoop(ctx context.Context, c *http.Client, gateway, path string, workers int, t *tally) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gateway+path, nil) // the path was sent before
				resp, err := c.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						t.answer(0)
						t.note(err)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body) // a short error page
				resp.Body.Close()
				t.requests.Add(1)
				t.answer(resp.StatusCode)
			}
		})
	}
	wg.Wait()
}

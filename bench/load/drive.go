package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// A level is one measurement: c users, each doing one view (or bare call)
// after another for warmup plus duration. Views and latencies count in the
// measured window only; CPU time and AWS calls over the whole level, with
// every view of it, so their ratios are exact.

// sample is one view as its user saw it.
type sample struct {
	start, end time.Time
	status     int   // 0: the request failed
	err        error // why, for the first few
}

// result is one level's figures.
type result struct {
	kind        string // "gateway" or "bare SDK"
	concurrency int
	latency     time.Duration // the simulator's added latency
	views       int           // completed in the measured window
	rate        float64       // views a second in the window
	p50, p99    time.Duration // of the window's successful views
	errors      map[int]int   // status (0: transport error) -> count, whole level
	why         []string      // the first errors' texts
	total       int           // requests of the whole level
	awsCalls    map[string]int
	simConns    int64
	gatewayCPU  time.Duration // whole level
	harnessCPU  time.Duration // this process: clients, simulator, provider
	rss, hwm    int64
	shed        float64 // AWS calls the gateway's budget refused
	load        string  // /proc/loadavg after the level
}

// viewFunc does one view (or call) for user i and returns an HTTP status,
// 0 for a failure before any, with the error.
type viewFunc func(ctx context.Context, i int) (int, error)

// drive runs view for users 0..c-1 at once.
func drive(ctx context.Context, c int, warmup, duration time.Duration, view viewFunc) (samples []sample, from, to time.Time) {
	begin := time.Now()
	from, to = begin.Add(warmup), begin.Add(warmup+duration)
	per := make([][]sample, c)
	var wg sync.WaitGroup
	for i := range c {
		wg.Go(func() {
			for now := time.Now(); now.Before(to) && ctx.Err() == nil; now = time.Now() {
				status, err := view(ctx, i)
				per[i] = append(per[i], sample{start: now, end: time.Now(), status: status, err: err})
			}
		})
	}
	wg.Wait()
	return slices.Concat(per...), from, to
}

// summarize fills r's view figures from the samples.
func summarize(r *result, samples []sample, from, to time.Time) {
	r.errors = map[int]int{}
	var lat []time.Duration
	for _, s := range samples {
		if s.status != http.StatusOK {
			r.errors[s.status]++
			if s.err != nil && len(r.why) < 3 {
				r.why = append(r.why, s.err.Error())
			}
		}
		if s.start.Before(from) || s.end.After(to) {
			continue
		}
		r.views++
		if s.status == http.StatusOK {
			lat = append(lat, s.end.Sub(s.start))
		}
	}
	r.total = len(samples)
	r.rate = float64(r.views) / to.Sub(from).Seconds()
	slices.Sort(lat)
	r.p50, r.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// pageView is GET /embed/start for user i: a 200 that holds the console's
// iframe, or the status (a 200 without the iframe counts as 599).
func pageView(gateway string, users []user) viewFunc {
	return func(ctx context.Context, i int) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gateway+"/embed/start", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := users[i].browser.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			return 0, err
		case resp.StatusCode == http.StatusOK && !bytes.Contains(body, consoleMarker):
			return 599, errors.New("a 200 without the console's iframe")
		}
		return resp.StatusCode, nil
	}
}

// bareCalls is the same load as plain SDK calls: one client, as the gateway
// has one, with the SDK's default transport and retryer, and for each user
// the GetSessionEmbedUrl the gateway sends for them in template mode.
func bareCalls(ctx context.Context, st *stack, users []user) (viewFunc, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(qssim.DefaultRegion),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(qssim.DefaultAccessKeyID, qssim.DefaultSecretAccessKey, "")))
	if err != nil {
		return nil, err
	}
	client := awsqs.NewFromConfig(cfg, func(o *awsqs.Options) { o.BaseEndpoint = aws.String(st.simURL) })
	inputs := make([]*awsqs.GetSessionEmbedUrlInput, len(users))
	for i, u := range users {
		arn := st.simulator().UserARN("default", u.bareUser().UserName)
		inputs[i] = &awsqs.GetSessionEmbedUrlInput{
			AwsAccountId:             aws.String(accountID),
			EntryPoint:               aws.String("/start"),
			SessionLifetimeInMinutes: aws.Int64(600), // the gateway's default
			UserArn:                  aws.String(arn),
		}
	}
	return func(ctx context.Context, i int) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // QSGATE_AWS_TIMEOUT's default
		defer cancel()
		out, err := client.GetSessionEmbedUrl(ctx, inputs[i])
		switch {
		case err != nil:
			return 0, err
		case aws.ToString(out.EmbedUrl) == "":
			return 0, errors.New("no EmbedUrl")
		}
		return http.StatusOK, nil
	}, nil
}

// errorText is "0", or each status with its count: "503×12 0×1".
func errorText(errs map[int]int) string {
	if len(errs) == 0 {
		return "0"
	}
	var codes []int
	for c := range errs {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var b bytes.Buffer
	for _, c := range codes {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		name := strconv.Itoa(c)
		if c == 0 {
			name = "failed"
		}
		fmt.Fprintf(&b, "%s×%d", name, errs[c])
	}
	return b.String()
}

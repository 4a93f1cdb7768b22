package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/cluster"
	"github.com/qsgate/qsgate/config"
	"github.com/qsgate/qsgate/handlers"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/metrics"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

// gateway is the wired program, ready to serve.
type gateway struct {
	cfg      config.Config
	aws      aws.Config
	endpoint string
	envFile  string // the env file read, "" for none; set by run
	log      *slog.Logger
	auth     *auth.Auth
	server   *echo.Echo
	// mapFile is the user map file (file mode), read again on SIGHUP.
	mapFile  *quicksight.MapFile
	draining *atomic.Bool     // set on shutdown: /readyz fails from then on
	metrics  *metrics.Metrics // nil when QSGATE_METRICS_ADDR is unset
	redis    *redis.Client    // nil without QSGATE_REDIS_URL; closed when serve ends
}

// envWithFile chains the env file behind getenv (an empty value counts as
// unset, so a test's map and the real environment behave alike) and says
// which file it read ("" for none).
func envWithFile(path string, getenv func(string) string) (func(string) string, string, error) {
	return config.WithEnvFile(path, func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	})
}

// build checks the settings and wires every part, in order: config, logger,
// AWS configuration, OIDC, session store, QuickSight client, templates,
// handlers. Nothing here talks to the network.
func build(ctx context.Context, getenv func(string) string, logOut io.Writer) (*gateway, error) {
	cfg, err := config.Load(getenv)
	var problems config.Problems
	if err != nil && !errors.As(err, &problems) {
		return nil, err
	}
	awsCfg, endpoints, awsProblem := loadAWS(ctx, getenv)
	if awsProblem != nil {
		problems = append(problems, *awsProblem)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	log := newLogger(cfg, logOut)

	// Every AWS call (embeds, user management, STS) takes from one budget,
	// and the SDK retries adaptively within QSGATE_AWS_TIMEOUT.
	budget := limit.NewBudget(cfg.MaxRPS, cfg.MaxInflight)
	retryBudget := quicksight.NewRetryBudget()
	// Keep as many idle connections to AWS as calls may run at once: the
	// SDK's default of 10 per host reopened (TLS to real AWS) hundreds of
	// connections a second under load (docs/BENCHMARKS.md).
	transport := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = max(100, cfg.MaxInflight)
		tr.MaxIdleConnsPerHost = max(10, cfg.MaxInflight)
	})
	awsCfg.HTTPClient = quicksight.WatchThrottling(budget.HTTPClient(transport))
	awsCfg.Retryer = func() aws.Retryer { return quicksight.NewRetryer(cfg.AWSTimeout, retryBudget) }

	identityRegion := cfg.IdentityRegion
	if identityRegion == "" {
		identityRegion = awsCfg.Region
	}
	quickSight := func(region string) *awsqs.Client {
		return awsqs.NewFromConfig(awsCfg, func(o *awsqs.Options) {
			o.Region = region
			if endpoints.quickSight != "" {
				o.BaseEndpoint = aws.String(endpoints.quickSight)
			}
		})
	}
	dir := quicksight.NewDirectory(cfg.AccountID, identityRegion, cfg.AWSTimeout, cfg.FollowIdentityRegion,
		func(region string) quicksight.UsersAPI { return quickSight(region) }, log)
	mapper, problem := newMapper(cfg, awsCfg, endpoints, dir, identityRegion)
	if problem != nil {
		return nil, config.Problems{*problem}
	}
	// With Redis, the instances share the view limit, the AWS call budget
	// and the user lookups; each falls back to its own when Redis is down.
	var views handlers.ViewLimiter = limit.NewPerUser(cfg.EmbedRate)
	var clusterReady func(context.Context) error
	var redisClient *redis.Client
	if cfg.RedisURL != "" {
		if redisClient, err = cluster.NewClient(cfg.RedisURL); err != nil {
			return nil, config.Problems{{Var: "QSGATE_REDIS_URL", Rule: "cannot use it"}}
		}
		shared := cluster.NewRateLimiter(redisClient)
		budget.Share(shared)
		views = limit.NewSharedPerUser(shared, cfg.EmbedRate)
		switch m := mapper.(type) {
		case *quicksight.LookupMapper:
			m.Share(cluster.NewCache(redisClient, "users"))
		case *quicksight.RegisterMapper:
			m.Share(cluster.NewCache(redisClient, "users"))
		}
		clusterReady = func(ctx context.Context) error { return cluster.Ping(ctx, redisClient) }
	}
	var sessionRedis *redis.Client // nil: sessions live in their cookies
	if cfg.SessionStore == "redis" {
		sessionRedis = redisClient
	}
	a, err := auth.New(auth.Config{
		Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
		Scopes: cfg.OIDCScopes, PublicURL: cfg.PublicURL, SessionKeys: cfg.SessionKeys,
		SessionTTL: cfg.SessionTTL, KeepClaims: cfg.TemplateClaims, TrustUnverifiedEmail: cfg.TrustUnverifiedEmail,
		GroupsClaim: cfg.GroupsClaim, KeepGroups: cfg.Access.GroupsUsed(),
		Authorize: func(u auth.User) error { return cfg.Access.Allow(u.Email, u.Groups) },
		Redis:     sessionRedis, Idle: cfg.SessionIdle, Refresh: cfg.SessionRefresh, RefreshGrace: cfg.RefreshGrace,
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	pages, err := templates.Parse()
	if err != nil {
		return nil, err
	}
	embedding := quickSight(awsCfg.Region)
	qs := &quicksight.Client{
		API:                 embedding,
		AccountID:           cfg.AccountID,
		SessionLifetime:     cfg.SessionLifetime,
		Timeout:             cfg.AWSTimeout,
		Directory:           dir,
		RegisteredUser:      cfg.QuickSightAPI == "registered-user",
		AllowedDomains:      cfg.AllowedDomains,
		DashboardExperience: cfg.DashboardExperience == "dashboard",
	}
	var catalog handlers.ContentLister // a nil interface when off: handlers check it
	if cfg.HomeList {
		catalog = quicksight.NewCatalog(embedding, cfg.AccountID, cfg.AWSTimeout)
	}
	draining := new(atomic.Bool)
	var m *metrics.Metrics
	var rec handlers.Recorder // a nil interface when metrics are off: handlers check it
	if cfg.MetricsAddr != "" {
		m = metrics.New()
		m.WatchAdmission(budget, retryBudget)
		if clusterReady != nil {
			m.WatchCluster(func() bool { return clusterReady(context.Background()) == nil }, limit.Fallbacks.Load)
		}
		rec = m
	}
	srv := handlers.NewServer(handlers.Deps{
		Draining: draining.Load, Metrics: rec,
		Auth: a, Embeds: qs, Mapper: mapper, Access: &cfg.Access, Views: views, Admit: budget, Pages: pages, Logger: log, ClusterReady: clusterReady,
		Catalog: catalog, PortalTitle: cfg.PortalTitle, SessionLifetime: time.Duration(cfg.SessionLifetime) * time.Minute,
		ViewTimeout: cfg.AWSTimeout, ReadersSeeDashboards: cfg.DashboardExperience == "dashboard",
		PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies,
	})
	mapFile, _ := mapper.(*quicksight.MapFile)
	return &gateway{cfg: cfg, aws: awsCfg, endpoint: endpoints.quickSight, log: log, auth: a, server: srv, draining: draining, metrics: m, mapFile: mapFile, redis: redisClient}, nil
}

// newMapper builds the user mapper of QSGATE_USER_MAPPING. What it reads or
// checks against the real account (the map file, the ARN template with the
// identity region filled in) is reported as a bad setting.
func newMapper(cfg config.Config, awsCfg aws.Config, endpoints awsEndpoints, dir *quicksight.Directory, identityRegion string) (handlers.UserMapper, *config.Problem) {
	bad := func(variable, format string, args ...any) (handlers.UserMapper, *config.Problem) {
		return nil, &config.Problem{Var: variable, Rule: fmt.Sprintf(format, args...)}
	}
	var names *quicksight.NameTemplate
	if cfg.UserNameTemplate != "" {
		var err error
		if names, err = quicksight.ParseNameTemplate(cfg.UserNameTemplate); err != nil {
			return bad("QSGATE_USER_NAME_TEMPLATE", "%v", err)
		}
	}
	switch cfg.UserMapping {
	case "file":
		m, err := quicksight.OpenMapFile(cfg.UserMapFile)
		if err != nil {
			return bad("QSGATE_USER_MAP_FILE", "cannot use %s: %v", cfg.UserMapFile, err)
		}
		return m, nil
	case "lookup":
		return quicksight.NewLookupMapper(dir, names, cfg.UserCacheTTL), nil
	case "register":
		return quicksight.NewRegisterMapper(quicksight.NewLookupMapper(dir, names, cfg.UserCacheTTL), names, cfg.CustomPermissionsName), nil
	case "iam":
		client := sts.NewFromConfig(awsCfg, func(o *sts.Options) {
			if endpoints.sts != "" {
				o.BaseEndpoint = aws.String(endpoints.sts)
			}
		})
		m, err := quicksight.NewIAMMapper(cfg.IAMRoleARN, client, dir, cfg.IAMRegister, cfg.UserCacheTTL)
		if err != nil {
			return bad("QSGATE_IAM_ROLE_ARN", "%v", err)
		}
		if cfg.QuickSightAPI == "registered-user" {
			return m.ByARN(), nil // that API names every user by ARN
		}
		return m, nil
	}
	// Fill the template with the real account, identity region and every
	// namespace a user can land in: a bad identity region from the AWS
	// profile must stop start-up, not give every user a 403.
	namespaces := []string{cfg.Namespace}
	for _, r := range cfg.Access.Rules {
		namespaces = append(namespaces, r.Namespace)
	}
	for _, ns := range namespaces {
		if err := quicksight.CheckTemplate(cfg.UserARNTemplate, cfg.AccountID, ns, identityRegion); err != nil {
			return bad("QSGATE_USER_ARN_TEMPLATE", "%v (identity region %q: set QSGATE_QUICKSIGHT_IDENTITY_REGION or AWS_REGION)", err, identityRegion)
		}
	}
	return quicksight.NewTemplateMapper(cfg.UserARNTemplate, cfg.AccountID, cfg.Namespace, identityRegion), nil
}

// awsEndpoints are endpoint overrides (the simulator, a VPC endpoint).
type awsEndpoints struct{ quickSight, sts string }

// loadAWS loads the SDK's own configuration (profile, credential chain,
// retryer). Settings that may come from the env file are passed explicitly,
// since the SDK reads only the process environment.
func loadAWS(ctx context.Context, getenv func(string) string) (aws.Config, awsEndpoints, *config.Problem) {
	var opts []func(*awsconfig.LoadOptions) error
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	if p := getenv("AWS_PROFILE"); p != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(p))
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))))
	}
	endpoints := awsEndpoints{quickSight: getenv("AWS_ENDPOINT_URL_QUICKSIGHT"), sts: getenv("AWS_ENDPOINT_URL_STS")}
	if endpoints.quickSight == "" {
		endpoints.quickSight = getenv("AWS_ENDPOINT_URL")
	}
	if endpoints.sts == "" {
		endpoints.sts = getenv("AWS_ENDPOINT_URL")
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		variable := "AWS configuration"
		if getenv("AWS_PROFILE") != "" {
			variable = "AWS_PROFILE"
		}
		return aws.Config{}, endpoints, &config.Problem{Var: variable, Rule: fmt.Sprintf("cannot load: %v", err)}
	}
	if cfg.Region == "" {
		return aws.Config{}, endpoints, &config.Problem{Var: "AWS_REGION", Rule: "missing (set AWS_REGION, or a region in the AWS profile)"}
	}
	return cfg, endpoints, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (g *gateway) summary() string {
	s := g.cfg.Summary()
	s += fmt.Sprintf("  %-36s %s\n", "settings file", cmpOr(g.envFile, "(none: the environment only)"))
	s += fmt.Sprintf("  %-36s %s\n", "AWS region", g.aws.Region)
	if g.endpoint != "" {
		s += fmt.Sprintf("  %-36s %s\n", "QuickSight endpoint", g.endpoint)
	}
	return s
}

// serve runs until ctx ends. Then /readyz fails for QSGATE_SHUTDOWN_DELAY
// (so load balancers that poll it stop sending new requests) while requests
// are still served, the listener closes, and in-flight requests get up to
// QSGATE_SHUTDOWN_GRACE to finish.
func (g *gateway) serve(ctx context.Context) error {
	if g.redis != nil {
		defer g.redis.Close()
	}
	defer g.auth.CloseIdleConnections()
	ln, err := net.Listen("tcp", g.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("QSGATE_LISTEN_ADDR: %w", err)
	}
	hs := &http.Server{
		Handler:           g.server,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      g.cfg.AWSTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
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

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go g.reloadOn(ctx, hup)

	g.log.Info("qsgate listening", "addr", ln.Addr().String(), "public_url", g.cfg.PublicURL.String(),
		"version", version, "aws_region", g.aws.Region, "env_file", cmpOr(g.envFile, "(none: the environment only)"),
		"memory_limit", memoryLimit())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
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

// reloadOn reads the files qsgate reads while serving again on each signal:
// the user map file. A bad file keeps the previous contents and says why,
// with its line. Settings (the environment and env file) need a restart.
func (g *gateway) reloadOn(ctx context.Context, sig <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
		}
		if g.mapFile == nil {
			g.log.Info("SIGHUP: nothing to reload (settings need a restart)")
			continue
		}
		n, err := g.mapFile.Reload()
		if err != nil {
			g.log.Error("user map file not reloaded, keeping the previous contents", "file", g.mapFile.Path(), "err", err)
			continue
		}
		g.log.Info("user map file reloaded", "file", g.mapFile.Path(), "users", n)
	}
}

func cmpOr(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

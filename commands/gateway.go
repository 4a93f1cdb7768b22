package commands

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/qsgate/qsgate/audit"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/cluster"
	"github.com/qsgate/qsgate/config"
	"github.com/qsgate/qsgate/handlers"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/metrics"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/telemetry"
	"github.com/qsgate/qsgate/templates"
)

// gateway is the wired program, ready to serve.
type gateway struct {
	cfg      config.Config
	aws      aws.Config
	endpoint string
	envFile  string // the env file read, "" for none
	version  string // for the start-up log
	log      *slog.Logger
	auth     *auth.Auth
	server   *echo.Echo
	// mapFile is the user map file (file mode), read again on SIGHUP.
	mapFile  *quicksight.MapFile
	draining *atomic.Bool     // set on shutdown: /readyz fails from then on
	metrics  *metrics.Metrics // nil when QSGATE_METRICS_ADDR is unset
	redis    *redis.Client    // nil without QSGATE_REDIS_URL; closed when serve ends
	audit    *audit.Logger    // nil with QSGATE_AUDIT_LOG=off; closed when serve ends
	// tracing is nil when tracing is off; serve flushes it at the end.
	tracing *telemetry.Tracing
}

// build is build with the invocation's settings and logs; the gateway
// knows the env file read and the version.
func (in *invocation) build(ctx context.Context) (*gateway, error) {
	g, err := buildWith(ctx, in.getenv, in.stderr, in.stdout)
	if err != nil {
		return nil, err
	}
	g.envFile, g.version = in.envFile, in.version
	return g, nil
}

// build is buildWith, with the audit stream's "stdout" going to logOut
// with the logs (the demo, tests).
func build(ctx context.Context, getenv func(string) string, logOut io.Writer) (*gateway, error) {
	return buildWith(ctx, getenv, logOut, logOut)
}

// buildWith checks the settings and wires every part, in order: config,
// logger, AWS configuration, OIDC, session store, QuickSight client,
// templates, handlers; QSGATE_AUDIT_LOG=stdout writes to auditOut. Nothing
// here talks to the network.
func buildWith(ctx context.Context, getenv func(string) string, logOut, auditOut io.Writer) (*gateway, error) {
	set, err := loadSettings(ctx, getenv)
	if err != nil {
		return nil, err
	}
	cfg, awsCfg := set.cfg, set.aws
	log := newLogger(cfg, logOut)
	tracing, err := telemetry.New(ctx, log)
	if err != nil {
		return nil, config.Problems{{Var: "tracing (OTEL_*)", Rule: err.Error()}}
	}
	log = tracing.Logger(log) // the trace id in a request's lines
	cluster.UseLogger(log)
	for _, w := range cfg.Warnings() {
		log.Warn("setting takes a risk", "warning", w)
	}

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
	tracing.AWS(&awsCfg)

	clients := awsClients{cfg: awsCfg, endpoints: set.endpoints}
	identityRegion := set.identityRegion()
	dir := quicksight.NewDirectory(cfg.AccountID, identityRegion, cfg.AWSTimeout, cfg.FollowIdentityRegion, clients.users, log)
	mapper, problem := newMapper(cfg, clients, dir, identityRegion)
	if problem != nil {
		return nil, config.Problems{*problem}
	}
	// With Redis, the instances share the view and sign-in limits, the AWS
	// call budget and the user lookups; each falls back to its own when
	// Redis is down.
	var views handlers.ViewLimiter = limit.NewPerUser(cfg.EmbedRate)
	var signInsPerUser auth.SignInLimiter = limit.NewPerUser(cfg.SignInRate)
	// A company's users often share one address and arrive together: its
	// allowance comes at once, then at the rate.
	perAddress := cfg.SignInRatePerAddress
	perAddress.Burst = perAddress.N
	var signInsPerAddress handlers.SignInLimiter = limit.NewPerUser(perAddress)
	var usersCache *cluster.SealedCache // nil without Redis
	var clusterReady func(context.Context) error
	var redisClient *redis.Client
	if cfg.RedisURL != "" {
		if redisClient, err = cluster.NewClient(cfg.RedisURL); err != nil {
			return nil, config.Problems{{Var: "QSGATE_REDIS_URL", Rule: "cannot use it"}}
		}
		if err := tracing.Redis(redisClient); err != nil {
			return nil, err
		}
		shared := cluster.NewRateLimiter(redisClient)
		budget.Share(shared)
		views = limit.NewSharedPerUser(shared, cfg.EmbedRate)
		signInsPerUser = limit.NewSharedPerUser(shared, cfg.SignInRate)
		signInsPerAddress = limit.NewSharedPerUser(shared, perAddress)
		// Lookups shared in Redis are sealed with a key from the session
		// keys: whoever can write to Redis cannot point a user at an ARN.
		if usersCache, err = cluster.NewSealedCache(redisClient, "users", cfg.SessionKeys); err != nil {
			return nil, err
		}
		switch m := mapper.(type) {
		case *quicksight.LookupMapper:
			m.Share(usersCache)
		case *quicksight.RegisterMapper:
			m.Share(usersCache)
		}
		clusterReady = func(ctx context.Context) error { return cluster.Ping(ctx, redisClient) }
	}
	auditLog, aud, err := openAudit(cfg, auditOut, log)
	if err != nil {
		return nil, err
	}
	dir.RecordTo(aud)
	if m, ok := mapper.(*quicksight.IdentityCenterMapper); ok {
		m.RecordTo(aud)
	}
	var sessionRedis *redis.Client // nil: sessions live in their cookies
	if cfg.SessionStore == "redis" {
		sessionRedis = redisClient
	}
	a, err := auth.New(auth.Config{
		Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
		Scopes: cfg.OIDCScopes, PublicURL: cfg.PublicURL, SessionKeys: cfg.SessionKeys,
		SessionTTL: cfg.SessionTTL, KeepClaims: cfg.TemplateClaims, TrustUnverifiedEmail: cfg.TrustUnverifiedEmail,
		GroupsClaim: cfg.GroupsClaim, KeepGroups: cfg.GroupsKept(), KeepIDToken: cfg.UserMapping == "identity-center",
		Authorize: func(u auth.User) error { return cfg.Access.Allow(u.Email, u.Groups) },
		Redis:     sessionRedis, Idle: cfg.SessionIdle, Refresh: cfg.SessionRefresh, RefreshGrace: cfg.RefreshGrace,
		MaxSessionsPerUser: cfg.MaxSessionsPerUser, SignInsPerUser: signInsPerUser,
		Logger: log, Audit: aud, HTTPClient: tracing.HTTPClient(auth.ProviderClient()),
	})
	if err != nil {
		return nil, err
	}
	pages, err := templates.Parse()
	if err != nil {
		return nil, err
	}
	embedding := clients.quickSight(awsCfg.Region)
	qs := &quicksight.Client{
		API:                 embedding,
		AccountID:           cfg.AccountID,
		SessionLifetime:     cfg.SessionLifetime,
		Timeout:             cfg.AWSTimeout,
		Directory:           dir,
		RegisteredUser:      cfg.QuickSightAPI == "registered-user",
		AllowedDomains:      cfg.AllowedDomains,
		DashboardExperience: cfg.DashboardExperience == "dashboard",
		ConsoleFeatures:     cfg.ConsoleFeatures,
		DashboardFeatures:   cfg.DashboardFeatures,
		AmazonQGroups:       cfg.AmazonQGroups,
	}
	var catalog handlers.ContentLister // a nil interface when off: handlers check it
	// The listings are filtered on the user's ARN, which identity-center
	// mode never learns.
	if cfg.HomeList && cfg.UserMapping != "identity-center" {
		catalog = quicksight.NewCatalog(embedding, cfg.AccountID, cfg.AWSTimeout)
	}
	draining := new(atomic.Bool)
	var m *metrics.Metrics
	var rec handlers.Recorder // a nil interface when metrics are off: handlers check it
	if cfg.MetricsAddr != "" {
		m = metrics.New()
		m.WatchAdmission(budget, retryBudget)
		if usersCache != nil {
			m.WatchSharedCache(usersCache.Rejected)
		}
		if clusterReady != nil {
			m.WatchCluster(func() bool { return clusterReady(context.Background()) == nil }, limit.Fallbacks.Load)
		}
		if auditLog != nil {
			m.WatchAudit(auditLog.Failed)
		}
		rec = m
	}
	frameOrigins := handlers.FrameOrigins(set.endpoints.quickSight, awsCfg.Region, identityRegion)
	if frameOrigins == nil {
		log.Warn("the embed page frames the embed URL's own origin: QuickSight's console host is known only for regions of AWS's commercial partition",
			"aws_region", awsCfg.Region, "identity_region", identityRegion)
	}
	srv := handlers.NewServer(handlers.Deps{
		Draining: draining.Load, Metrics: rec,
		Auth: a, Embeds: qs, Mapper: mapper, Access: &cfg.Access, Views: views, SignInsPerAddress: signInsPerAddress, Admit: budget, Pages: pages, Logger: log, ClusterReady: clusterReady,
		Catalog: catalog, PortalTitle: cfg.PortalTitle, SessionLifetime: time.Duration(cfg.SessionLifetime) * time.Minute,
		ViewTimeout: cfg.AWSTimeout, ReadersSeeDashboards: cfg.DashboardExperience == "dashboard", QnA: cfg.QnA,
		PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies,
		FrameOrigins: frameOrigins, Audit: aud, Tracing: tracing.Provider(),
	})
	mapFile, _ := mapper.(*quicksight.MapFile)
	return &gateway{cfg: cfg, aws: awsCfg, endpoint: set.endpoints.quickSight, log: log, auth: a, server: srv, draining: draining, metrics: m, mapFile: mapFile, redis: redisClient, audit: auditLog, tracing: tracing}, nil
}

package telemetry

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Problem is an OTEL_* variable the SDK would not take as meant, and why.
type Problem struct{ Var, Rule string }

// Check looks at the tracing variables getenv gives, when they turn tracing
// on, for values the SDK would refuse or quietly replace with its default
// (a sampler it does not know samples everything; a timeout it cannot
// read is its default): start-up stops on them, naming each variable, as
// on a bad QSGATE_* setting. The SDK itself still reads the variables.
func Check(getenv func(string) string) []Problem {
	var out []Problem
	bad := func(name, rule string) { out = append(out, Problem{name, rule}) }
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	if v := get("OTEL_SDK_DISABLED"); v != "" && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
		bad("OTEL_SDK_DISABLED", "must be true or false, got "+strconv.Quote(v))
	}
	exporter := get("OTEL_TRACES_EXPORTER")
	if exporter == "" || exporter == "none" || strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return out // tracing is off: the rest is not read
	}
	for _, e := range strings.Split(exporter, ",") {
		if !slices.Contains([]string{"otlp", "console", "none"}, strings.TrimSpace(e)) {
			bad("OTEL_TRACES_EXPORTER", "must be otlp, console or none, got "+strconv.Quote(exporter))
			break
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if v := get(name); v != "" && v != "grpc" && v != "http/protobuf" {
			bad(name, "must be http/protobuf or grpc, got "+strconv.Quote(v))
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if v := get(name); v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(name, "must be an http:// or https:// URL with a host, such as http://otel-collector:4318")
			}
		}
	}
	samplers := []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}
	sampler := get("OTEL_TRACES_SAMPLER")
	if sampler != "" && !slices.Contains(samplers, sampler) {
		bad("OTEL_TRACES_SAMPLER", "must be one of "+strings.Join(samplers, ", ")+", got "+strconv.Quote(sampler))
	}
	if v := get("OTEL_TRACES_SAMPLER_ARG"); v != "" && strings.HasSuffix(sampler, "traceidratio") {
		if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 || f > 1 {
			bad("OTEL_TRACES_SAMPLER_ARG", "must be a ratio from 0 to 1 (0.1 keeps 1 trace in 10), got "+strconv.Quote(v))
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
		"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"} {
		if v := get(name); v != "" {
			if n, err := strconv.Atoi(v); err != nil || n < 0 {
				bad(name, "must be a whole number (milliseconds, or spans for sizes), got "+strconv.Quote(v))
			}
		}
	}
	return out
}

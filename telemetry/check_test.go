package telemetry

import (
	"slices"
	"testing"
)

// TestCheck: values the SDK would refuse or quietly replace stop start-up,
// each naming its variable; with tracing off nothing else is looked at.
func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // the variables named
	}{
		{"off", map[string]string{"OTEL_TRACES_SAMPLER": "nonsense"}, nil},
		{"good", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
			"OTEL_TRACES_SAMPLER_ARG": "0.1", "OTEL_BSP_MAX_QUEUE_SIZE": "4096"}, nil},
		{"every mistake", map[string]string{"OTEL_TRACES_EXPORTER": "jaeger", "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift",
			"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318", "OTEL_TRACES_SAMPLER": "traceidratio_parentbased",
			"OTEL_EXPORTER_OTLP_TIMEOUT": "10s", "OTEL_BSP_MAX_QUEUE_SIZE": "lots", "OTEL_SDK_DISABLED": "no"},
			[]string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_ENDPOINT",
				"OTEL_TRACES_SAMPLER", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE"}},
		{"ratio past 1", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "10%"},
			[]string{"OTEL_TRACES_SAMPLER_ARG"}},
	}
	for _, tt := range tests {
		var got []string
		for _, p := range Check(func(k string) string { return tt.env[k] }) {
			got = append(got, p.Var)
			if p.Rule == "" {
				t.Errorf("%s: %s has no rule", tt.name, p.Var)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: problems name %v, want %v", tt.name, got, tt.want)
		}
	}
}

package ecs

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// taskDefinition is the part of an ECS task definition the example uses,
// spelt as RegisterTaskDefinition spells it; decoding is strict.
type taskDefinition struct {
	Family                  string   `json:"family"`
	NetworkMode             string   `json:"networkMode"`
	RequiresCompatibilities []string `json:"requiresCompatibilities"`
	CPU                     string   `json:"cpu"`
	Memory                  string   `json:"memory"`
	RuntimePlatform         struct {
		OperatingSystemFamily string `json:"operatingSystemFamily"`
		CPUArchitecture       string `json:"cpuArchitecture"`
	} `json:"runtimePlatform"`
	ExecutionRoleArn     string      `json:"executionRoleArn"`
	TaskRoleArn          string      `json:"taskRoleArn"`
	ContainerDefinitions []container `json:"containerDefinitions"`
}

type container struct {
	Name                   string   `json:"name"`
	Image                  string   `json:"image"`
	Essential              bool     `json:"essential"`
	Command                []string `json:"command"`
	User                   string   `json:"user"`
	ReadonlyRootFilesystem bool     `json:"readonlyRootFilesystem"`
	Privileged             bool     `json:"privileged"`
	LinuxParameters        struct {
		Capabilities struct {
			Drop []string `json:"drop"`
		} `json:"capabilities"`
		InitProcessEnabled bool `json:"initProcessEnabled"`
	} `json:"linuxParameters"`
	Memory       int `json:"memory"`
	PortMappings []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
		Protocol      string `json:"protocol"`
	} `json:"portMappings"`
	Environment []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"environment"`
	Secrets []struct {
		Name      string `json:"name"`
		ValueFrom string `json:"valueFrom"`
	} `json:"secrets"`
	HealthCheck struct {
		Command     []string `json:"command"`
		Interval    int      `json:"interval"`
		Timeout     int      `json:"timeout"`
		Retries     int      `json:"retries"`
		StartPeriod int      `json:"startPeriod"`
	} `json:"healthCheck"`
	StopTimeout      int `json:"stopTimeout"`
	LogConfiguration struct {
		LogDriver string            `json:"logDriver"`
		Options   map[string]string `json:"options"`
	} `json:"logConfiguration"`
}

// TestTaskDefinition checks the ECS example: port 8080, the image's own
// health check (no shell in it), non-root and read-only, a memory limit,
// secrets from Secrets Manager and never in plain environment, and a stop
// timeout (ECS's SIGKILL) after QSGATE_SHUTDOWN_DELAY + QSGATE_SHUTDOWN_GRACE.
func TestTaskDefinition(t *testing.T) {
	b, err := os.ReadFile("task-definition.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var td taskDefinition
	if err := dec.Decode(&td); err != nil {
		t.Fatalf("decode strictly: %v", err)
	}
	if len(td.ContainerDefinitions) != 1 {
		t.Fatalf("containers = %d, want 1", len(td.ContainerDefinitions))
	}
	c := td.ContainerDefinitions[0]
	if len(c.PortMappings) != 1 || c.PortMappings[0].ContainerPort != 8080 {
		t.Errorf("port mappings = %+v, want 8080", c.PortMappings)
	}
	if got := strings.Join(c.HealthCheck.Command, " "); got != "CMD /qsgate healthcheck" {
		t.Errorf("health check = %q, want CMD /qsgate healthcheck (the image has no shell)", got)
	}
	if c.User == "" || strings.HasPrefix(c.User, "0") || !c.ReadonlyRootFilesystem || c.Privileged {
		t.Errorf("user %q, read-only %v, privileged %v: want non-root, read-only, unprivileged", c.User, c.ReadonlyRootFilesystem, c.Privileged)
	}
	if d := c.LinuxParameters.Capabilities.Drop; len(d) != 1 || d[0] != "ALL" {
		t.Errorf("capabilities dropped = %v, want ALL", d)
	}
	if c.Memory == 0 {
		t.Errorf("no container memory limit: qsgate sets its Go soft limit from it")
	}
	env := map[string]string{}
	for _, e := range c.Environment {
		env[e.Name] = e.Value
	}
	secrets := map[string]bool{}
	for _, s := range c.Secrets {
		secrets[s.Name] = strings.HasPrefix(s.ValueFrom, "arn:aws:secretsmanager:") || strings.HasPrefix(s.ValueFrom, "arn:aws:ssm:")
	}
	for _, name := range []string{"QSGATE_SESSION_KEYS", "QSGATE_OIDC_CLIENT_SECRET", "QSGATE_REDIS_URL"} {
		if _, ok := env[name]; ok {
			t.Errorf("%s is in plain environment", name)
		}
		if !secrets[name] {
			t.Errorf("%s is not read from Secrets Manager or SSM", name)
		}
	}
	var drain time.Duration
	for _, name := range []string{"QSGATE_SHUTDOWN_DELAY", "QSGATE_SHUTDOWN_GRACE"} {
		d, err := time.ParseDuration(env[name])
		if err != nil {
			t.Fatalf("%s = %q: %v", name, env[name], err)
		}
		drain += d
	}
	if stop := time.Duration(c.StopTimeout) * time.Second; stop < drain || stop > 120*time.Second {
		t.Errorf("stopTimeout = %v, want at least the drain %v and at most ECS's 120s", stop, drain)
	}
}

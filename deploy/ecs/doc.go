// Package ecs holds the test of the ECS example (task-definition.json): it
// checks the task definition against what qsgate needs (the image's own
// health check, a stop timeout that covers the drain, the secrets from
// Secrets Manager). It provides no code.
package ecs

// Package helm holds the tests of the qsgate Helm chart (deploy/helm/qsgate):
// it renders the chart with the Helm SDK, as `helm template` would, decodes
// every object strictly into the Kubernetes API types and checks what qsgate
// needs of them. It provides no code to the product; it lives in a module of
// its own (deploy/go.mod) so the product's go.mod does not carry Kubernetes.
package helm

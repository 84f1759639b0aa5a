// Package charts holds the tests of what slipwatch ships to a cluster: the
// Helm chart in charts/slipwatch and the container image built by the
// Dockerfile at the root of the repository.
//
// It is a module of its own so that the Kubernetes API types the tests
// decode manifests into stay out of slipwatch's go.mod. Run it with
// `cd charts && go test ./...`; helm must be on the PATH or in
// $(go env GOPATH)/bin (go install helm.sh/helm/v3/cmd/helm@v3.16.4).
package charts

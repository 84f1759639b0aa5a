// Package e2e is slipwatch's reliability suite; it holds tests only.
//
// The tests build the slipwatch binary once and run it as a subprocess,
// the way a platform team runs it, against a real redis-server
// (internal/redistest) and the sandbox GitHub API
// (connectors/github/githubtest), or the sandbox Jira
// (connectors/jira/jiratest, as Cloud and as Data Center, answering the
// daemon's JQL from its issues). They break things on purpose: kill -9 at
// random points, two replicas racing, a failing or slow tracker, Redis
// going away, hostile webhooks and comments, and broken config files.
// Every scenario ends by counting the comments on the sandbox's threads
// (on Jira by the markers in the comments' entity properties):
// expected / posted / duplicated / missing must be N / N / 0 / 0.
// docs/reliability.md lists what is tried and the figures of the last run.
package e2e

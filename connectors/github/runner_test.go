package github_test

import (
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/reconcile/runner"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// The runner declares what it needs of a connector; the GitHub client
// must keep providing it, and the Redis store must keep being the
// conditional-request cache both connectors are given. (An external test
// package, so the connector itself never imports the runner or the store.)
var (
	_ runner.Connector = (*github.Client)(nil)
	_ httpx.Validators = (*store.Store)(nil)
)

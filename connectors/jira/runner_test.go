package jira_test

import (
	"github.com/slipwatch/slipwatch/connectors/jira"
	"github.com/slipwatch/slipwatch/reconcile/runner"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// The runner declares what it needs of a connector; the Jira client must
// keep providing it, and the Redis store must keep the rotating OAuth
// token the way the client needs. (An external test package, so the
// connector itself never imports the runner or the store.)
var (
	_ runner.Connector = (*jira.Client)(nil)
	_ jira.TokenStore  = (*store.Store)(nil)
)

package github

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// permEntry is a collaborator permission as last read.
type permEntry struct {
	write   bool
	fetched time.Time
}

// canCommit: listed in commands.allow, or write, maintain or admin
// permission on the repository (GitHub reports maintain as "write"). A
// permission is remembered for permissionTTL, or until a webhook says the
// user's access changed (forgetPermissions).
func (c *Client) canCommit(ctx context.Context, full, owner, name, login string) (bool, error) {
	if login == "" {
		return false, nil
	}
	if c.allow[strings.ToLower(login)] {
		return true, nil
	}
	key := full + "\x00" + strings.ToLower(login)
	c.mu.Lock()
	p, ok := c.perms[key]
	c.mu.Unlock()
	if age := c.now().Sub(p.fetched); ok && age >= 0 && age < permissionTTL {
		return p.write, nil
	}
	level, _, err := c.gh.Repositories.GetPermissionLevel(withTag(ctx, full, KindOther), owner, name, login)
	write := false
	switch err := c.wrap(fmt.Sprintf("get permission of %s on %s", login, full), err); {
	case err == nil:
		switch level.GetPermission() {
		case "admin", "maintain", "write":
			write = true
		}
	case isNotFound(err):
		// Not a collaborator (or no such user): no permission.
	default:
		return false, err
	}
	c.mu.Lock()
	c.perms[key] = permEntry{write: write, fetched: c.now()}
	c.mu.Unlock()
	return write, nil
}

// forgetPermissions drops the remembered permissions of login on every
// repository, or every remembered permission when login is "" (a team's
// access changed: who is in it is not in the payload).
func (c *Client) forgetPermissions(login string) {
	suffix := "\x00" + strings.ToLower(login)
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.perms {
		if login == "" || strings.HasSuffix(k, suffix) {
			delete(c.perms, k)
		}
	}
}

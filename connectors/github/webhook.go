package github

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// hookPayload is the part of a milestone, issues, issue_comment or ping
// delivery slipwatch reads.
type hookPayload struct {
	Action     string `json:"action"`
	Repository *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Milestone   *hookMilestone `json:"milestone"`
	Issue       *hookIssue     `json:"issue"`
	PullRequest *struct {
		Milestone *hookMilestone `json:"milestone"`
	} `json:"pull_request"`
	Changes *struct {
		DueOn *struct {
			From *string `json:"from"`
		} `json:"due_on"`
	} `json:"changes"`
	Sender *struct {
		Login string `json:"login"`
	} `json:"sender"`
	// member and membership events: whose access changed.
	Member *struct {
		Login string `json:"login"`
	} `json:"member"`
	// organization events: whose membership changed.
	Membership *struct {
		User *struct {
			Login string `json:"login"`
		} `json:"user"`
	} `json:"membership"`
}

type hookIssue struct {
	Number      int             `json:"number"`
	Milestone   *hookMilestone  `json:"milestone"`
	PullRequest json.RawMessage `json:"pull_request"`
}

type hookMilestone struct {
	Number int     `json:"number"`
	DueOn  *string `json:"due_on"`
}

func refuse(status int, reason string) error {
	return &httpx.WebhookError{Status: status, Reason: reason}
}

// ParseWebhook verifies a GitHub delivery and says which milestones to
// reconcile again. Everything it can check without the body it checks
// first, so a delivery that cannot pass is refused before its body is
// read: X-GitHub-Event, a sane X-GitHub-Delivery (httpx.CheckDeliveryID),
// the presence and form of X-Hub-Signature-256, and a Content-Length
// within httpx.MaxWebhookBytes (413 above). Then it reads
// the body and checks the signature against every configured secret
// (current and previous, for rotation). With no secret configured it
// accepts unsigned deliveries only when github.insecure_skip_signature is
// set; with a secret it never does.
//
// milestone events name their milestone (created also asks to list the
// repository again); issues events name the milestone of their issue or
// pull request (and milestoned/demilestoned the milestone it joined or
// left), as do pull_request events that change a milestone's counts
// (opened, closed, reopened, milestoned, demilestoned): pull requests are
// items (observe.go); issue_comment events name the milestone of their
// issue, never of a pull request, whose comments are no thread. Other
// pull_request actions, repositories not watched and every other event
// are ignored, with no error (answer 202). repository and
// installation_repositories events ask for discovery (discoveryHook).
// The payload is trusted for nothing else: the worker reads GitHub again.
//
// A delivery also marks what it names as changed in this process's
// memory, so the Observe it causes reads it again at once.
func (c *Client) ParseWebhook(r *http.Request) (connectors.WebhookEvent, error) {
	event := r.Header.Get("X-GitHub-Event")
	delivery := r.Header.Get("X-GitHub-Delivery")
	if event == "" {
		return connectors.WebhookEvent{}, refuse(http.StatusBadRequest, "missing X-GitHub-Event header")
	}
	if err := httpx.CheckDeliveryID("X-GitHub-Delivery", delivery); err != nil {
		return connectors.WebhookEvent{}, err
	}
	ev := connectors.WebhookEvent{Delivery: delivery, Event: event}

	sig := r.Header.Get("X-Hub-Signature-256")
	signed, err := c.signedBy(sig)
	if err != nil {
		return ev, err
	}
	body, err := httpx.ReadWebhookBody(r, c.maxHook)
	if err != nil {
		return ev, err
	}
	if signed {
		if err := httpx.CheckSignature("X-Hub-Signature-256", sig, body, c.cfg.WebhookSecrets()); err != nil {
			return ev, err
		}
	}
	ev.Digest = httpx.BodyDigest(body)

	payload := body
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json", "application/x-www-form-urlencoded":
	default:
		// GitHub sends one of the two content types a webhook can be set to.
		return ev, refuse(http.StatusUnsupportedMediaType, "content type is neither application/json nor application/x-www-form-urlencoded")
	}
	if mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return ev, refuse(http.StatusBadRequest, "form body without a payload field")
		}
		payload = []byte(form.Get("payload"))
	}
	var p hookPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return ev, refuse(http.StatusBadRequest, "body is not valid JSON")
	}

	switch event {
	case "pull_request": // an item of its milestone (observe.go)
	case "milestone", "issues", "issue_comment":
	case "repository", "installation_repositories":
		return c.discoveryHook(ev, event, p)
	case "member", "membership", "organization", "team":
		c.accessChanged(event, p)
		return ev, nil
	default:
		return ev, nil // ping, and events slipwatch did not ask for
	}
	if p.Repository == nil {
		return ev, refuse(http.StatusBadRequest, "payload has no repository")
	}
	full, ok := c.watched(p.Repository.FullName)
	if !ok && c.ownerWatched(p.Repository.FullName) {
		// A repository of an owner/* entry this process has not found (yet:
		// made moments ago, or before the first look-up finished): its keys
		// are queued, and the worker looks the owner up again before it
		// reads, or finds it not watched.
		full, ok = p.Repository.FullName, true
	}
	if !ok {
		c.log.Debug("webhook for a repository not watched", "delivery", delivery, "event", event)
		return ev, nil
	}

	var numbers []int
	switch event {
	case "milestone":
		if p.Milestone == nil {
			return ev, refuse(http.StatusBadRequest, "milestone event without a milestone")
		}
		numbers = append(numbers, p.Milestone.Number)
		if p.Action == "created" {
			ev.Teams = []string{full}
		}
		if p.Action == "edited" && p.Changes != nil && p.Changes.DueOn != nil {
			// Evidence of who moved the date, for the log: the event itself
			// only carries keys, and the worker reads the new date from
			// GitHub.
			from, to, by := "", "", ""
			if p.Changes.DueOn.From != nil {
				from = *p.Changes.DueOn.From
			}
			if p.Milestone.DueOn != nil {
				to = *p.Milestone.DueOn
			}
			if p.Sender != nil {
				by = p.Sender.Login
			}
			c.log.Info("milestone due date changed", "delivery", delivery,
				"milestone", milestoneKey(full, p.Milestone.Number), "from", from, "to", to, "by", by)
		}
	case "pull_request":
		if p.PullRequest == nil {
			return ev, refuse(http.StatusBadRequest, "pull_request event without a pull request")
		}
		switch p.Action {
		case "opened", "closed", "reopened", "milestoned", "demilestoned":
		default:
			return ev, nil // a push, a review, a label: no count changes
		}
		if p.PullRequest.Milestone != nil {
			numbers = append(numbers, p.PullRequest.Milestone.Number)
		}
		if p.Milestone != nil && (p.Action == "milestoned" || p.Action == "demilestoned") {
			numbers = append(numbers, p.Milestone.Number)
		}
	case "issues", "issue_comment":
		if p.Issue == nil {
			return ev, refuse(http.StatusBadRequest, event+" event without an issue")
		}
		if event == "issue_comment" && isPR(p.Issue.PullRequest) {
			return ev, nil
		}
		if p.Issue.Milestone != nil {
			numbers = append(numbers, p.Issue.Milestone.Number)
		}
		if event == "issues" && p.Milestone != nil && (p.Action == "milestoned" || p.Action == "demilestoned") {
			numbers = append(numbers, p.Milestone.Number)
		}
	}
	seen := map[int]bool{}
	for _, n := range numbers {
		if n > 0 && !seen[n] {
			seen[n] = true
			ev.Refs = append(ev.Refs, milestoneRef(full, n))
		}
	}

	c.invalidate(full, event, p)
	return ev, nil
}

func isPR(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null"
}

// signedBy says, before the body is read, whether the delivery must carry
// a valid signature (false only when no secret is configured and
// github.insecure_skip_signature is set), and refuses it at once when the
// signature header is missing or malformed.
func (c *Client) signedBy(header string) (bool, error) {
	if len(c.cfg.WebhookSecrets()) == 0 {
		if c.cfg.InsecureSkipSignature {
			return false, nil
		}
		return false, refuse(http.StatusUnauthorized, "no webhook secret is configured")
	}
	return true, httpx.RequireSignature("X-Hub-Signature-256", header)
}

// discoveryHook asks for the owner/* entries to be looked up again when
// a delivery says their repositories changed: a repository event of a
// watched owner that makes or takes one away (created, deleted, archived,
// unarchived, renamed, transferred — which may come from another owner —,
// publicized, privatized), or, with App auth, any change of the
// installation's repositories.
func (c *Client) discoveryHook(ev connectors.WebhookEvent, event string, p hookPayload) (connectors.WebhookEvent, error) {
	if len(c.owners) == 0 {
		return ev, nil
	}
	if event == "installation_repositories" {
		ev.Discover = c.cfg.App != nil
		return ev, nil
	}
	if p.Repository == nil {
		return ev, refuse(http.StatusBadRequest, "payload has no repository")
	}
	switch p.Action {
	case "created", "deleted", "archived", "unarchived", "renamed", "transferred", "publicized", "privatized":
	default:
		return ev, nil
	}
	ev.Discover = c.ownerWatched(p.Repository.FullName) || p.Action == "transferred"
	return ev, nil
}

// ownerWatched reports whether full (owner/name) belongs to an owner of an
// owner/* entry.
func (c *Client) ownerWatched(full string) bool {
	owner, _, _ := strings.Cut(strings.ToLower(full), "/")
	_, ok := c.owners[owner] // the map's keys never change after New
	return ok
}

// invalidate marks the repository's index stale, so the Observe the
// delivery causes brings it up to date first. A deleted comment is the one
// change no list shows: its thread is read whole again.
func (c *Client) invalidate(full, event string, p hookPayload) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ix := c.index[full]; ix != nil {
		ix.stale = true
	}
	if event == "issue_comment" && p.Action == "deleted" && p.Issue != nil {
		delete(c.threads, threadID(full, p.Issue.Number))
	}
}

// accessChanged forgets the remembered permissions a delivery says may
// be wrong now, so a collaborator removed from the repository (member
// removed), from a team (membership removed) or from the organisation
// (organization member_removed) cannot commit on the strength of a
// permission read before. A team event (a team's access to a repository
// changed) names no members: every remembered permission goes. This only
// helps the replica that took the delivery; permissionTTL bounds the rest.
func (c *Client) accessChanged(event string, p hookPayload) {
	login := ""
	switch {
	case event == "team":
	case p.Member != nil && p.Member.Login != "":
		login = p.Member.Login
	case p.Membership != nil && p.Membership.User != nil && p.Membership.User.Login != "":
		login = p.Membership.User.Login
	default:
		return // an organization event about something else
	}
	c.forgetPermissions(login)
	c.log.Info("repository access changed; permissions will be read again", "event", event, "action", p.Action, "user", login)
}

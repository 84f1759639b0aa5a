package jira

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// hookPayload is the part of a Jira webhook delivery slipwatch reads.
type hookPayload struct {
	WebhookEvent string `json:"webhookEvent"`
	Issue        *issue `json:"issue"`
	Version      *struct {
		ID        string `json:"id"`
		ProjectID flexID `json:"projectId"`
	} `json:"version"`
	Comment *struct {
		ID   string `json:"id"`
		Self string `json:"self"`
	} `json:"comment"`
	Project   *project `json:"project"` // project_created, project_deleted
	Changelog *struct {
		Items []struct {
			Field   string  `json:"field"`
			FieldID string  `json:"fieldId"` // absent on Data Center
			From    *string `json:"from"`
			To      *string `json:"to"`
			FromStr *string `json:"fromString"`
			ToStr   *string `json:"toString"`
		} `json:"items"`
	} `json:"changelog"`
}

func refuse(status int, reason string) error {
	return &httpx.WebhookError{Status: status, Reason: reason}
}

// ParseWebhook verifies a Jira delivery and says which deliverables to
// reconcile again.
//
// Authentication, by configuration: an X-Hub-Signature "sha256=<hex>" HMAC
// of the body with jira.webhook_secret or jira.previous_webhook_secret
// (rotation); or, for Data Center whose webhooks cannot sign, a
// "?token=" equal to jira.webhook_token (compared in constant time); or
// nothing with jira.insecure_skip_signature. With a secret or token
// configured, a delivery without either is refused (401). All of it but
// the HMAC itself is checked before the body is read, and so is a
// Content-Length over httpx.MaxWebhookBytes (413): a delivery that cannot
// pass never holds a buffer.
//
// Delivery is X-Atlassian-Webhook-Identifier, which Jira keeps across its
// retries, refused (400) unless sane (httpx.CheckDeliveryID). A delivery
// without it (Data Center sends none) is identified by its Digest, the
// hash of its body: a retry resends the same body, and two events differ
// at least in their timestamp, so the runner's dedupe still holds.
//
// Decoding: jira:issue_created/updated/deleted name the issue if it looks
// like a deliverable (an epic, or an issue with a due date, or one whose due
// date just changed), its fix versions and the versions it just left, and
// its parent epic. jira:version_* name the version (version_created also asks
// to list the project again). comment_created/updated/deleted name the
// deliverable whose thread the comment is on: a tracking issue's version,
// or an epic itself; this needs the issue's labels and versions, which
// comment payloads lack, so the issue is read from Jira (an error then is
// not a *WebhookError: the delivery should be retried). With
// jira.projects: ["*"], project_created lists the new project at once and
// project_deleted forgets one. Projects outside jira.projects and every
// other event give an empty event and no error. The payload is trusted
// for nothing else: the worker reads Jira again.
//
// Each event also tells the project's index (index.go) what to read
// again: the issues after an issue or comment event (and a deleted issue
// is dropped), the versions list after a version event, the thread after
// a comment event. Only this replica's index hears it.
func (c *Client) ParseWebhook(r *http.Request) (connectors.WebhookEvent, error) {
	id := r.Header.Get("X-Atlassian-Webhook-Identifier")
	if id != "" {
		if err := httpx.CheckDeliveryID("X-Atlassian-Webhook-Identifier", id); err != nil {
			return connectors.WebhookEvent{}, err
		}
	}
	signed, err := c.authenticate(r)
	if err != nil {
		return connectors.WebhookEvent{}, err
	}
	body, err := httpx.ReadWebhookBody(r, httpx.MaxWebhookBytes)
	if err != nil {
		return connectors.WebhookEvent{}, err
	}
	if signed {
		if err := httpx.CheckSignature("X-Hub-Signature", r.Header.Get("X-Hub-Signature"), body, c.cfg.WebhookSecrets()); err != nil {
			return connectors.WebhookEvent{}, err
		}
	}
	ev := connectors.WebhookEvent{Delivery: id, Digest: httpx.BodyDigest(body)}
	if ev.Delivery == "" {
		ev.Delivery = ev.Digest
	}
	var p hookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return ev, refuse(http.StatusBadRequest, "body is not a Jira webhook payload: "+err.Error())
	}
	ev.Event = p.WebhookEvent

	ctx := r.Context()
	switch p.WebhookEvent {
	case "jira:issue_created", "jira:issue_updated", "jira:issue_deleted":
		if p.Issue == nil {
			return ev, refuse(http.StatusBadRequest, p.WebhookEvent+" without an issue")
		}
		ev.Refs = c.issueRefs(p.Issue, &p)
		c.tellIssue(p.Issue, &p)
	case "jira:version_created", "jira:version_updated", "jira:version_released",
		"jira:version_unreleased", "jira:version_deleted", "jira:version_moved", "jira:version_merged":
		if p.Version == nil || p.Version.ID == "" {
			return ev, refuse(http.StatusBadRequest, p.WebhookEvent+" without a version")
		}
		proj, ok, err := c.projectByID(r, string(p.Version.ProjectID))
		if err != nil {
			return ev, fmt.Errorf("jira webhook %s: %w", ev.Delivery, err)
		}
		if !ok {
			return ev, nil
		}
		ev.Refs = []connectors.Ref{versionRef(proj, p.Version.ID)}
		if p.WebhookEvent == "jira:version_created" {
			ev.Teams = []string{proj}
		}
		c.tell(proj, func(n *hookNews) {
			n.versions = true
			if p.WebhookEvent == "jira:version_deleted" {
				n.deletedVersions = append(n.deletedVersions, p.Version.ID)
			}
		})
	case "comment_created", "comment_updated", "comment_deleted":
		id := ""
		if p.Issue != nil {
			if p.Issue.Fields.Project != nil {
				if _, ok := c.watched(p.Issue); !ok {
					return ev, nil // a site-wide webhook: spare Jira the read
				}
			}
			id = p.Issue.ID
		}
		if id == "" && p.Comment != nil {
			id = issueIDFromCommentURL(p.Comment.Self)
		}
		if id == "" {
			return ev, refuse(http.StatusBadRequest, p.WebhookEvent+" names no issue")
		}
		var is issue
		err := c.get(ctx, "rest/api/2/issue/"+url.PathEscape(id), url.Values{"fields": {"project,issuetype,labels,fixVersions,duedate"}}, &is)
		if isStatus(err, http.StatusNotFound) {
			return ev, nil // deleted since, or not visible to slipwatch
		}
		if err != nil {
			return ev, fmt.Errorf("jira webhook %s: read the commented issue %s: %w", ev.Delivery, id, err)
		}
		ev.Refs = c.threadRefs(&is)
		if proj, ok := c.watched(&is); ok {
			c.forgetThread(is.Key)
			c.tell(proj, func(n *hookNews) { n.issues = true })
		}
	case "project_created", "project_deleted":
		if p.Project == nil || p.Project.Key == "" {
			return ev, refuse(http.StatusBadRequest, p.WebhookEvent+" without a project")
		}
		if !c.all {
			return ev, nil // a listed project is watched by its listing
		}
		key, ok := c.watchedKey(p.Project.Key)
		if !ok {
			return ev, nil
		}
		if p.WebhookEvent == "project_deleted" {
			c.dropProject(key)
			return ev, nil
		}
		if p.Project.ID != "" {
			c.rememberProject(string(p.Project.ID), key)
		}
		c.foundProject(key)
		ev.Teams = []string{key}
	default:
		c.log.DebugContext(ctx, "jira webhook event not used", "delivery", ev.Delivery, "event", p.WebhookEvent)
	}
	return ev, nil
}

// authenticate does what it can before the body is read: it checks a
// Data Center token outright, refuses a delivery that carries neither
// signature nor token (or a malformed signature), and says whether the
// body's signature is left to check (true).
func (c *Client) authenticate(r *http.Request) (bool, error) {
	secrets := c.cfg.WebhookSecrets()
	token := c.cfg.WebhookToken.Value()
	sig := r.Header.Get("X-Hub-Signature")
	given := r.URL.Query().Get("token")
	switch {
	case sig != "" && len(secrets) > 0:
		return true, httpx.RequireSignature("X-Hub-Signature", sig)
	case given != "" && token != "":
		// Hashing first makes the comparison constant-time in the length too.
		a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(a[:], b[:]) == 1 {
			return false, nil
		}
		return false, refuse(http.StatusUnauthorized, "token does not match")
	case len(secrets) > 0 || token != "":
		return false, refuse(http.StatusUnauthorized, "missing X-Hub-Signature or token")
	case c.cfg.InsecureSkipSignature:
		return false, nil
	}
	return false, refuse(http.StatusUnauthorized, "no webhook secret or token is configured")
}

// issueRefs are the deliverables an issue event touches.
func (c *Client) issueRefs(is *issue, p *hookPayload) []connectors.Ref {
	proj, ok := c.watched(is)
	if !ok {
		return nil
	}
	var refs []connectors.Ref
	dueChanged := false
	var versions []string
	for _, v := range is.Fields.FixVersions {
		versions = append(versions, v.ID)
	}
	var parents []string
	if is.Fields.Parent != nil {
		parents = append(parents, is.Fields.Parent.Key)
	}
	if p.Changelog != nil {
		for _, it := range p.Changelog.Items {
			switch {
			case it.FieldID == "duedate" || strings.EqualFold(it.Field, "duedate"):
				dueChanged = true
			case it.FieldID == "fixVersions" || strings.EqualFold(it.Field, "Fix Version"):
				// A version the issue left loses an item.
				for _, v := range []*string{it.From, it.To} {
					if v != nil && *v != "" {
						versions = append(versions, *v)
					}
				}
			case strings.EqualFold(it.Field, "Epic Link") || strings.EqualFold(it.Field, "Parent") || strings.EqualFold(it.Field, "IssueParentAssociation"):
				// Data Center puts the epic's key in the *String values.
				for _, v := range []*string{it.FromStr, it.ToStr} {
					if v != nil && issueKeyLike(*v) {
						parents = append(parents, *v)
					}
				}
			}
		}
	}
	if looksLikeDeliverable(is) || dueChanged {
		refs = append(refs, issueRef(proj, is.Key))
	}
	for _, v := range versions {
		refs = append(refs, versionRef(proj, v))
	}
	for _, k := range parents {
		if pp, ok := c.watchedKey(projectOf(k)); ok {
			refs = append(refs, issueRef(pp, k))
		}
	}
	return dedupe(refs)
}

// tellIssue tells the index of the issue's project that its issues
// changed, and drops an issue deleted or moved to another project (the
// change search cannot see either).
func (c *Client) tellIssue(is *issue, p *hookPayload) {
	proj, ok := c.watched(is)
	if ok {
		c.tell(proj, func(n *hookNews) {
			n.issues = true
			if p.WebhookEvent == "jira:issue_deleted" {
				n.deletedIssues = append(n.deletedIssues, is.Key)
			}
		})
	}
	if p.Changelog == nil {
		return
	}
	for _, it := range p.Changelog.Items {
		if it.FromStr == nil || !issueKeyLike(*it.FromStr) {
			continue
		}
		from := *it.FromStr
		var gone string // the issue key another project's index must drop
		switch {
		case strings.EqualFold(it.Field, "Key"):
			gone = from // moved to another project: its old key
		case strings.EqualFold(it.Field, "Epic Link") || strings.EqualFold(it.Field, "Parent") || strings.EqualFold(it.Field, "IssueParentAssociation"):
			// It left an epic of another project, whose index holds it as
			// a child; that index's change search no longer finds it.
			if projectOf(from) != projectOf(is.Key) {
				gone = is.Key
			}
		}
		if gone == "" {
			continue
		}
		if other, ok := c.watchedKey(projectOf(from)); ok {
			c.tell(other, func(n *hookNews) {
				n.issues = true
				n.deletedIssues = append(n.deletedIssues, gone)
			})
		}
	}
}

// threadRefs are the deliverables whose thread is this issue: the versions
// of a tracking issue, or the epic itself.
func (c *Client) threadRefs(is *issue) []connectors.Ref {
	proj, ok := c.watched(is)
	if !ok {
		return nil
	}
	var refs []connectors.Ref
	if c.isTracking(*is) {
		for _, v := range is.Fields.FixVersions {
			refs = append(refs, versionRef(proj, v.ID))
		}
	}
	if looksLikeDeliverable(is) {
		refs = append(refs, issueRef(proj, is.Key))
	}
	return dedupe(refs)
}

// watched is the configured project of the issue.
func (c *Client) watched(is *issue) (string, bool) {
	key := projectOf(is.Key)
	if is.Fields.Project != nil && is.Fields.Project.Key != "" {
		key = is.Fields.Project.Key
	}
	return c.watchedKey(key)
}

// looksLikeDeliverable guesses, without evaluating jira.deliverables.jql,
// whether an issue may be an issue deliverable: an epic, or any issue with
// a due date. A wrong guess costs one Observe, which checks the JQL and
// answers not found.
func looksLikeDeliverable(is *issue) bool {
	if is.Fields.DueDate != "" {
		return true
	}
	t := is.Fields.IssueType
	return t != nil && (strings.EqualFold(t.Name, "Epic") || t.HierarchyLevel >= 1)
}

func issueKeyLike(s string) bool {
	p, n, ok := strings.Cut(s, "-")
	return ok && p != "" && n != "" && strings.Trim(n, "0123456789") == ""
}

func dedupe(refs []connectors.Ref) []connectors.Ref {
	seen := map[connectors.Ref]bool{}
	out := refs[:0]
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// issueIDFromCommentURL reads the issue id out of a comment's self URL,
// ".../rest/api/2/issue/10013/comment/10082" (Data Center's comment events
// carry no issue).
func issueIDFromCommentURL(self string) string {
	u, err := url.Parse(self)
	if err != nil {
		return ""
	}
	dir, _ := path.Split(strings.TrimRight(u.Path, "/")) // .../issue/10013/comment/
	dir = strings.TrimSuffix(dir, "/")
	if path.Base(dir) != "comment" {
		return ""
	}
	dir = path.Dir(dir)
	if path.Base(path.Dir(dir)) != "issue" {
		return ""
	}
	return path.Base(dir)
}

// projectByID is the configured project key of a project id (version
// events name only the id). Ids seen by List are remembered; another is
// read from Jira once.
func (c *Client) projectByID(r *http.Request, id string) (string, bool, error) {
	if id == "" {
		return "", false, nil
	}
	key, err := c.projectOf(r.Context(), id)
	if isStatus(err, http.StatusNotFound) {
		return "", false, nil // not visible to slipwatch: not watched
	}
	if err != nil {
		return "", false, err
	}
	conf, ok := c.watchedKey(key)
	return conf, ok, nil
}

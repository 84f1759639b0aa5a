// Package jira is slipwatch's Jira connector, for Jira Cloud and Jira Data
// Center. A project's deliverables are its versions (fixVersions; the date
// is releaseDate) and the issues matched by jira.deliverables.jql (epics
// with a due date by default). A version's thread is an issue in that
// version carrying the tracking label, created on demand; an epic's thread
// is the epic itself. Throughput is the project's resolved issues per day.
//
// # Where the markers live
//
// slipwatch must find every comment it ever posted, and its status record,
// on the tracker itself: Redis is only a cache and may be flushed. On GitHub
// markers are HTML comments inside the body, which GitHub does not render.
// Jira wiki markup has no such thing: every character of a comment body is
// shown to readers ({noformat} and colour tricks are still visible, and
// renderers differ between Cloud and Data Center). So the body carries only
// the human text, and the marker goes into the comment's entity property
// "slipwatch" as {"marker": "<marker>"}. Entity properties are stored by
// Jira with the comment, are never shown in the UI, survive edits of the
// body and are returned by the REST API to anyone who can see the comment,
// on Cloud and Data Center alike. A property is read back only for comments
// written by slipwatch's own identity (Comment.BySelf): only those markers
// are trusted, and it saves one request per foreign comment.
//
// Posting is "create the comment, then PUT its property". The create request
// also carries the property (Jira accepts "properties" on create), so on
// instances that honour it the two are atomic; the PUT that follows makes
// sure on instances that ignore it. If that PUT keeps failing the comment
// exists without its marker: Post retries the PUT, never the comment, and
// then returns a *MarkerError naming the comment. The process remembers
// the marker: the next read of the thread reports the comment with it (so
// the event is not posted again) and stores it once Jira answers; an Edit
// of the comment stores it too. Only a restart inside that window loses
// it.
//
// # Who may commit
//
// Jira's project roles say nothing about promises: only commands.allow
// does (Options.Allow). A Cloud user is matched by account ID, exactly; a
// Data Center user by user name or user key; never by e-mail address or
// display name, which users can change themselves. A comment someone else
// edited is the editor's (updateAuthor, Comment.EditedBy). A Committed:
// line in an issue's description is the person's who last changed it,
// from the changelog (described.go); a version's is trusted, as
// only administrators may edit a version.
//
// # Search
//
// Jira Cloud removed /rest/api/{2,3}/search; it pages /rest/api/3/search/jql
// with nextPageToken and isLast. Data Center keeps /rest/api/2/search with
// startAt and total. The deployment comes from jira.deployment, or with
// "auto" from /rest/api/2/serverInfo (deploymentType), asked once.
//
// # HTTP
//
// Requests go through connectors/httpx: conditional GETs, Retry-After and
// rate-limit waits, jittered retries of idempotent requests, paced writes.
// Jira's errorMessages/errors bodies are kept in *APIError; 404 and 410 wrap
// connectors.ErrNotFound, 400, 401 and 403 wrap connectors.ErrTerminal, and
// a 503 with Retry-After that outlasts the transport's own waiting becomes a
// *connectors.RateLimitError.
package jira

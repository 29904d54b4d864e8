/**
 * Which client X-Request-ID values mlmon keeps: the rule of Hono's requestId
 * middleware in the api (word characters, `-` and `=`, at most 255), written
 * once so nginx's map (nginx/nginx.conf.mustache) applies the very same rule.
 * nginx replaces any other value with its own `$request_id` (32 hex digits,
 * which passes), so the api never replaces an id nginx forwarded, and nginx's
 * access line and the replica's lines carry one id.
 */
export const REQUEST_ID_MAX_LENGTH = 255;
// Hono tests /[^\w\-=]/ without the u flag: \w is exactly [A-Za-z0-9_].
export const REQUEST_ID_PATTERN = `^[A-Za-z0-9_=-]{1,${REQUEST_ID_MAX_LENGTH}}$`;

export const isAcceptedRequestId = (id: string) => new RegExp(REQUEST_ID_PATTERN).test(id);

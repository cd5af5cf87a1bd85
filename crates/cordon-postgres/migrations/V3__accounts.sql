-- The console's accounts, sessions and login-limiter counters that the
-- gateways share (cordon-accounts). Times are Unix seconds.

-- One row per officer or auditor. `password_hash` is an argon2id PHC
-- string; the password itself is never stored.
CREATE TABLE cordon_users (
    name          text PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('officer', 'auditor')),
    password_hash text NOT NULL,
    created_at    bigint NOT NULL
);

-- One row per API token: its SHA-256 (of the whole token as shown to its
-- owner), never the token. `id` keeps the order tokens were issued in.
CREATE TABLE cordon_api_tokens (
    sha256     bytea PRIMARY KEY CHECK (length(sha256) = 32),
    id         bigserial NOT NULL UNIQUE,
    name       text NOT NULL REFERENCES cordon_users (name) ON DELETE CASCADE,
    label      text NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX cordon_api_tokens_name ON cordon_api_tokens (name, id);

-- One row per console session, found by the SHA-256 of the session cookie
-- (the cookie's value itself is not stored, so reading this table gives no
-- one a login). `password_stamp` identifies the password hash in force when
-- the session was made. The CSRF token is kept as it is: every form needs
-- it, and without the cookie it is worth nothing.
CREATE TABLE cordon_sessions (
    id_sha256      bytea PRIMARY KEY CHECK (length(id_sha256) = 32),
    name           text NOT NULL,
    role           text NOT NULL,
    password_stamp bytea NOT NULL,
    csrf_token     text NOT NULL,
    created_at     bigint NOT NULL,
    last_seen      bigint NOT NULL
);
CREATE INDEX cordon_sessions_name ON cordon_sessions (name);
CREATE INDEX cordon_sessions_last_seen ON cordon_sessions (last_seen);

-- The login limiter's counters: one row per account name (`kind` 'name')
-- and per client address or IPv6 /64 (`kind` 'ip'). `failures` are the
-- times of the failures within the window, `pending` the reservation times
-- of attempts still being checked, `last_activity` the later of the last
-- failure and `locked_until` (the order in which rows are evicted when
-- there are too many).
CREATE TABLE cordon_login_limits (
    kind          text NOT NULL CHECK (kind IN ('ip', 'name')),
    key           text NOT NULL,
    failures      bigint[] NOT NULL DEFAULT '{}',
    pending       bigint[] NOT NULL DEFAULT '{}',
    locked_until  bigint NOT NULL DEFAULT 0,
    last_failure  bigint,
    last_activity bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, key)
);
CREATE INDEX cordon_login_limits_eviction ON cordon_login_limits (kind, last_activity);
